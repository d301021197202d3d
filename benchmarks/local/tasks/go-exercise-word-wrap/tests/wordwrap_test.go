package wordwrap

import (
	"reflect"
	"testing"
)

func TestWrap(t *testing.T) {
	cases := []struct {
		name  string
		text  string
		width int
		want  []string
	}{
		{"fits", "hello world", 20, []string{"hello world"}},
		{"exact", "hello world", 11, []string{"hello world"}},
		{"break", "hello world", 10, []string{"hello", "world"}},
		{"greedy", "a bb ccc dddd", 6, []string{"a bb", "ccc", "dddd"}},
		{"whitespace", "  one\ttwo\n\nthree  ", 9, []string{"one two", "three"}},
		{"long word", "abcdefghij", 4, []string{"abcd", "efgh", "ij"}},
		{"long word joins", "xy abcdefg", 5, []string{"xy", "abcde", "fg"}},
		{"piece shares line", "abcdefg hi", 5, []string{"abcde", "fg hi"}},
		{"runes", "ääää öö", 7, []string{"ääää öö"}},
		{"width one", "ab c", 1, []string{"a", "b", "c"}},
	}
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			got := Wrap(tc.text, tc.width)
			if !reflect.DeepEqual(got, tc.want) {
				t.Fatalf("Wrap(%q, %d) = %q, want %q", tc.text, tc.width, got, tc.want)
			}
		})
	}
}

func TestWrapEmpty(t *testing.T) {
	for _, text := range []string{"", "   \n\t"} {
		if got := Wrap(text, 10); len(got) != 0 {
			t.Fatalf("Wrap(%q) = %q, want no lines", text, got)
		}
	}
}

func TestWrapBadWidth(t *testing.T) {
	defer func() {
		if recover() == nil {
			t.Fatal("Wrap with width 0 did not panic")
		}
	}()
	Wrap("a", 0)
}
