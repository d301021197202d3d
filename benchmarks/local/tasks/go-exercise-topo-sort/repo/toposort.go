package toposort

// CycleError reports packages that cannot be ordered because of a dependency cycle.
type CycleError struct {
	Packages []string
}

func (e *CycleError) Error() string {
	panic("implement CycleError.Error")
}

// Order returns the packages of deps, each after its dependencies.
func Order(deps map[string][]string) ([]string, error) {
	panic("implement Order")
}
