package rpncalc

import (
	"errors"
	"testing"
)

func TestEvalValues(t *testing.T) {
	cases := map[string]int64{
		"42":              42,
		"1 2 +":           3,
		"5 3 -":           2,
		"2 3 4 * +":       14,
		"-7 2 /":          -3,
		"7 -2 /":          -3,
		"+4 -3 *":         -12,
		"3 dup *":         9,
		"1 2 swap -":      1,
		"1 2 drop":        1,
		"  10   2   /  ": 5,
	}
	for expr, want := range cases {
		got, err := Eval(expr)
		if err != nil || got != want {
			t.Errorf("Eval(%q) = %d, %v; want %d, nil", expr, got, err, want)
		}
	}
}

func TestEvalUnderflow(t *testing.T) {
	for _, expr := range []string{"+", "1 +", "dup", "1 swap", "drop", "1 drop drop"} {
		if _, err := Eval(expr); !errors.Is(err, ErrUnderflow) {
			t.Errorf("Eval(%q) error = %v, want ErrUnderflow", expr, err)
		}
	}
}

func TestEvalDivByZero(t *testing.T) {
	if _, err := Eval("1 0 /"); !errors.Is(err, ErrDivByZero) {
		t.Fatalf("error = %v, want ErrDivByZero", err)
	}
}

func TestEvalOtherErrors(t *testing.T) {
	for _, expr := range []string{"", "   ", "1 2", "1 2 ^", "two 2 +", "1 drop"} {
		if _, err := Eval(expr); err == nil {
			t.Errorf("Eval(%q) returned no error", expr)
		}
	}
}
