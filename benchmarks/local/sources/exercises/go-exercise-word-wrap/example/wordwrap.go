package wordwrap

import "strings"

// Wrap breaks text into lines of at most width runes.
func Wrap(text string, width int) []string {
	if width < 1 {
		panic("width must be at least 1")
	}
	var lines []string
	current := []rune{}
	place := func(word []rune) {
		switch {
		case len(current) == 0:
			current = append(current, word...)
		case len(current)+1+len(word) <= width:
			current = append(append(current, ' '), word...)
		default:
			lines = append(lines, string(current))
			current = append([]rune{}, word...)
		}
	}
	for _, field := range strings.Fields(text) {
		word := []rune(field)
		for len(word) > width {
			place(word[:width])
			word = word[width:]
		}
		place(word)
	}
	if len(current) > 0 {
		lines = append(lines, string(current))
	}
	return lines
}
