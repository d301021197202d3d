package csvsplit

// SplitRecord splits one delimited line into fields.
func SplitRecord(line string, sep rune) ([]string, error) {
	panic("implement SplitRecord")
}
