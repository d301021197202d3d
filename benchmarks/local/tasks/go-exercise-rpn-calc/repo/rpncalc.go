package rpncalc

import "errors"

// ErrUnderflow means an operator or command found too few values on the stack.
var ErrUnderflow = errors.New("stack underflow")

// ErrDivByZero means a division by zero.
var ErrDivByZero = errors.New("division by zero")

// Eval evaluates an expression in reverse Polish notation.
func Eval(expr string) (int64, error) {
	panic("implement Eval")
}
