package csvsplit

import (
	"errors"
	"strings"
)

// SplitRecord splits one delimited line into fields.
func SplitRecord(line string, sep rune) ([]string, error) {
	runes := []rune(line)
	var fields []string
	i := 0
	for {
		var field strings.Builder
		if i < len(runes) && runes[i] == '"' {
			i++
			closed := false
			for i < len(runes) {
				if runes[i] == '"' {
					if i+1 < len(runes) && runes[i+1] == '"' {
						field.WriteRune('"')
						i += 2
						continue
					}
					closed = true
					i++
					break
				}
				field.WriteRune(runes[i])
				i++
			}
			if !closed {
				return nil, errors.New("unterminated quoted field")
			}
			if i < len(runes) && runes[i] != sep {
				return nil, errors.New("unexpected character after closing quote")
			}
		} else {
			for i < len(runes) && runes[i] != sep {
				field.WriteRune(runes[i])
				i++
			}
		}
		fields = append(fields, field.String())
		if i >= len(runes) {
			return fields, nil
		}
		i++ // the separator
	}
}
