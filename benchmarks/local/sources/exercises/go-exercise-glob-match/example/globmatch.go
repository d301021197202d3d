package globmatch

import "errors"

// token kinds of a compiled pattern.
const (
	literal = iota
	anyChar
	star
	globstar // matches zero or more whole segments, including the slash that follows
	rest     // a trailing **: matches whatever is left
	class
)

type token struct {
	kind    int
	r       rune
	ranges  [][2]rune
	negated bool
}

func compile(pattern string) ([]token, error) {
	p := []rune(pattern)
	var tokens []token
	for i := 0; i < len(p); i++ {
		switch p[i] {
		case '\\':
			if i+1 >= len(p) {
				return nil, errors.New("pattern ends with a backslash")
			}
			i++
			tokens = append(tokens, token{kind: literal, r: p[i]})
		case '?':
			tokens = append(tokens, token{kind: anyChar})
		case '*':
			if i+1 < len(p) && p[i+1] == '*' {
				startOK := i == 0 || p[i-1] == '/'
				endOK := i+2 == len(p) || p[i+2] == '/'
				i++
				if startOK && endOK {
					if i+1 == len(p) {
						tokens = append(tokens, token{kind: rest})
						continue
					}
					i++ // the slash after ** belongs to the globstar
					tokens = append(tokens, token{kind: globstar})
					continue
				}
			}
			tokens = append(tokens, token{kind: star})
		case '[':
			t := token{kind: class}
			j := i + 1
			if j < len(p) && p[j] == '!' {
				t.negated = true
				j++
			}
			first := true
			for ; j < len(p) && (first || p[j] != ']'); j++ {
				first = false
				lo, hi := p[j], p[j]
				if j+2 < len(p) && p[j+1] == '-' && p[j+2] != ']' {
					hi = p[j+2]
					j += 2
				}
				if lo > hi {
					return nil, errors.New("reversed range in character class")
				}
				t.ranges = append(t.ranges, [2]rune{lo, hi})
			}
			if j >= len(p) {
				return nil, errors.New("unterminated character class")
			}
			i = j
			tokens = append(tokens, t)
		default:
			tokens = append(tokens, token{kind: literal, r: p[i]})
		}
	}
	return tokens, nil
}

func (t token) matchesRune(r rune) bool {
	switch t.kind {
	case literal:
		return t.r == r
	case anyChar:
		return r != '/'
	case class:
		if r == '/' {
			return false
		}
		in := false
		for _, rg := range t.ranges {
			if rg[0] <= r && r <= rg[1] {
				in = true
			}
		}
		return in != t.negated
	}
	return false
}

func match(tokens []token, name []rune) bool {
	if len(tokens) == 0 {
		return len(name) == 0
	}
	t := tokens[0]
	switch t.kind {
	case star:
		for i := 0; i <= len(name); i++ {
			if match(tokens[1:], name[i:]) {
				return true
			}
			if i < len(name) && name[i] == '/' {
				return false
			}
		}
		return false
	case rest:
		return true
	case globstar:
		// Zero segments, or skip whole segments up to and including a slash.
		if match(tokens[1:], name) {
			return true
		}
		for i, r := range name {
			if r == '/' && match(tokens[1:], name[i+1:]) {
				return true
			}
		}
		return false
	default:
		return len(name) > 0 && t.matchesRune(name[0]) && match(tokens[1:], name[1:])
	}
}

// Match reports whether name matches the glob pattern.
func Match(pattern, name string) (bool, error) {
	tokens, err := compile(pattern)
	if err != nil {
		return false, err
	}
	return match(tokens, []rune(name)), nil
}
