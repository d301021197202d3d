module rpncalc

go 1.19
