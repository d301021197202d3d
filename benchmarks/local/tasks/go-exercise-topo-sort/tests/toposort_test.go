package toposort

import (
	"errors"
	"reflect"
	"strings"
	"testing"
)

func TestOrder(t *testing.T) {
	cases := []struct {
		name string
		deps map[string][]string
		want []string
	}{
		{"empty", map[string][]string{}, []string{}},
		{"single", map[string][]string{"app": nil}, []string{"app"}},
		{"chain", map[string][]string{"c": {"b"}, "b": {"a"}}, []string{"a", "b", "c"}},
		{"alphabetical among ready", map[string][]string{"z": nil, "m": nil, "a": {"z"}},
			[]string{"m", "z", "a"}},
		{"diamond", map[string][]string{
			"app": {"log", "net"}, "net": {"core"}, "log": {"core"}, "core": nil},
			[]string{"core", "log", "net", "app"}},
		{"duplicates", map[string][]string{"b": {"a", "a"}}, []string{"a", "b"}},
		{"ready later is smaller", map[string][]string{"b": nil, "c": nil, "a": {"b"}},
			[]string{"b", "a", "c"}},
	}
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			got, err := Order(tc.deps)
			if err != nil {
				t.Fatalf("unexpected error %v", err)
			}
			if len(got) == 0 && len(tc.want) == 0 {
				return
			}
			if !reflect.DeepEqual(got, tc.want) {
				t.Fatalf("Order = %q, want %q", got, tc.want)
			}
		})
	}
}

func TestOrderCycle(t *testing.T) {
	deps := map[string][]string{
		"a": {"b"}, "b": {"c"}, "c": {"a"}, "d": {"c"}, "e": nil,
	}
	got, err := Order(deps)
	if got != nil {
		t.Fatalf("Order returned %q with a cycle", got)
	}
	var cycle *CycleError
	if !errors.As(err, &cycle) {
		t.Fatalf("error %v is not a *CycleError", err)
	}
	want := []string{"a", "b", "c", "d"}
	if !reflect.DeepEqual(cycle.Packages, want) {
		t.Fatalf("Packages = %q, want %q", cycle.Packages, want)
	}
	for _, pkg := range want {
		if !strings.Contains(err.Error(), pkg) {
			t.Fatalf("message %q does not mention %s", err.Error(), pkg)
		}
	}
}

func TestOrderSelfDependency(t *testing.T) {
	_, err := Order(map[string][]string{"x": {"x"}})
	var cycle *CycleError
	if !errors.As(err, &cycle) || !reflect.DeepEqual(cycle.Packages, []string{"x"}) {
		t.Fatalf("error = %v, want a CycleError for x", err)
	}
}
