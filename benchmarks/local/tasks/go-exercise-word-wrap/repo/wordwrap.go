package wordwrap

// Wrap breaks text into lines of at most width runes.
func Wrap(text string, width int) []string {
	panic("implement Wrap")
}
