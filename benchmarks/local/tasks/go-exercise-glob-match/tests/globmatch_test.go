package globmatch

import "testing"

func TestMatch(t *testing.T) {
	cases := []struct {
		pattern, name string
		want          bool
	}{
		{"main.go", "main.go", true},
		{"main.go", "main.gox", false},
		{"*.go", "main.go", true},
		{"*.go", "cmd/main.go", false},
		{"*", "", true},
		{"a*b*c", "aXXbYYc", true},
		{"a*b*c", "aXXbYY", false},
		{"?.txt", "a.txt", true},
		{"?.txt", "ab.txt", false},
		{"?", "/", false},
		{"?", "é", true},
		{"src/*/x", "src/a/x", true},
		{"src/*/x", "src/a/b/x", false},
		{"src/**/*.go", "src/main.go", true},
		{"src/**/*.go", "src/a/b/c.go", true},
		{"src/**/*.go", "lib/a.go", false},
		{"**", "any/thing/at/all", true},
		{"**/test_*.py", "test_x.py", true},
		{"**/test_*.py", "pkg/tests/test_x.py", true},
		{"docs/**", "docs/a/b.md", true},
		{"docs/**", "doc/a.md", false},
		{"a**b", "aXYb", true},
		{"a**b", "aX/Yb", false},
		{"a/**/b", "a/b", true},
		{"a/**/b", "a/x/y/b", true},
		{"a/**/b", "a/xb", false},
		{"[abc].md", "b.md", true},
		{"[abc].md", "d.md", false},
		{"[a-c0-9]", "7", true},
		{"[!a-c]", "d", true},
		{"[!a-c]", "b", false},
		{"[]x]", "]", true},
		{"[!]]", "]", false},
		{"[a-]", "-", true},
		{"x[/]y", "x/y", false},
		{`\*.go`, "*.go", true},
		{`\*.go`, "a.go", false},
		{`\[x]`, "[x]", true},
	}
	for _, tc := range cases {
		got, err := Match(tc.pattern, tc.name)
		if err != nil || got != tc.want {
			t.Errorf("Match(%q, %q) = %v, %v; want %v", tc.pattern, tc.name, got, err, tc.want)
		}
	}
}

func TestMatchErrors(t *testing.T) {
	for _, pattern := range []string{"[abc", "abc\\", "[z-a]", "[!", "x*[", "[]"} {
		if _, err := Match(pattern, "zzz"); err == nil {
			t.Errorf("Match(%q) returned no error", pattern)
		}
	}
}
