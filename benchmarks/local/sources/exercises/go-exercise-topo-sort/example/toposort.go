package toposort

import (
	"container/heap"
	"sort"
	"strings"
)

// CycleError reports packages that cannot be ordered because of a dependency cycle.
type CycleError struct {
	Packages []string
}

func (e *CycleError) Error() string {
	return "dependency cycle among: " + strings.Join(e.Packages, ", ")
}

type nameHeap []string

func (h nameHeap) Len() int            { return len(h) }
func (h nameHeap) Less(i, j int) bool  { return h[i] < h[j] }
func (h nameHeap) Swap(i, j int)       { h[i], h[j] = h[j], h[i] }
func (h *nameHeap) Push(x interface{}) { *h = append(*h, x.(string)) }
func (h *nameHeap) Pop() interface{} {
	old := *h
	last := old[len(old)-1]
	*h = old[:len(old)-1]
	return last
}

// Order returns the packages of deps, each after its dependencies.
func Order(deps map[string][]string) ([]string, error) {
	waiting := map[string]int{}
	dependents := map[string][]string{}
	for pkg, list := range deps {
		if _, ok := waiting[pkg]; !ok {
			waiting[pkg] = 0
		}
		seen := map[string]bool{}
		for _, dep := range list {
			if seen[dep] {
				continue
			}
			seen[dep] = true
			if _, ok := waiting[dep]; !ok {
				waiting[dep] = 0
			}
			waiting[pkg]++
			dependents[dep] = append(dependents[dep], pkg)
		}
	}
	ready := &nameHeap{}
	for pkg, count := range waiting {
		if count == 0 {
			heap.Push(ready, pkg)
		}
	}
	order := []string{}
	for ready.Len() > 0 {
		pkg := heap.Pop(ready).(string)
		order = append(order, pkg)
		for _, next := range dependents[pkg] {
			waiting[next]--
			if waiting[next] == 0 {
				heap.Push(ready, next)
			}
		}
	}
	if len(order) < len(waiting) {
		var stuck []string
		for pkg, count := range waiting {
			if count > 0 {
				stuck = append(stuck, pkg)
			}
		}
		sort.Strings(stuck)
		return nil, &CycleError{Packages: stuck}
	}
	return order, nil
}
