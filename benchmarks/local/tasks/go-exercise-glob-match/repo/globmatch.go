package globmatch

// Match reports whether name matches the glob pattern.
func Match(pattern, name string) (bool, error) {
	panic("implement Match")
}
