module toposort

go 1.19
