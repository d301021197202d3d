package rpncalc

import (
	"errors"
	"fmt"
	"strconv"
	"strings"
)

// ErrUnderflow means an operator or command found too few values on the stack.
var ErrUnderflow = errors.New("stack underflow")

// ErrDivByZero means a division by zero.
var ErrDivByZero = errors.New("division by zero")

// Eval evaluates an expression in reverse Polish notation.
func Eval(expr string) (int64, error) {
	var stack []int64
	need := func(n int, token string) error {
		if len(stack) < n {
			return fmt.Errorf("%q: %w", token, ErrUnderflow)
		}
		return nil
	}
	for _, token := range strings.Fields(expr) {
		if value, err := strconv.ParseInt(token, 10, 64); err == nil {
			stack = append(stack, value)
			continue
		}
		top := len(stack) - 1
		switch token {
		case "+", "-", "*", "/":
			if err := need(2, token); err != nil {
				return 0, err
			}
			a, b := stack[top-1], stack[top]
			stack = stack[:top-1]
			var result int64
			switch token {
			case "+":
				result = a + b
			case "-":
				result = a - b
			case "*":
				result = a * b
			case "/":
				if b == 0 {
					return 0, ErrDivByZero
				}
				result = a / b
			}
			stack = append(stack, result)
		case "dup":
			if err := need(1, token); err != nil {
				return 0, err
			}
			stack = append(stack, stack[top])
		case "swap":
			if err := need(2, token); err != nil {
				return 0, err
			}
			stack[top-1], stack[top] = stack[top], stack[top-1]
		case "drop":
			if err := need(1, token); err != nil {
				return 0, err
			}
			stack = stack[:top]
		default:
			return 0, fmt.Errorf("unknown token %q", token)
		}
	}
	if len(stack) != 1 {
		return 0, fmt.Errorf("expected one value at the end, found %d", len(stack))
	}
	return stack[0], nil
}
