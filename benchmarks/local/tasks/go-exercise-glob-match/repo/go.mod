module globmatch

go 1.19
