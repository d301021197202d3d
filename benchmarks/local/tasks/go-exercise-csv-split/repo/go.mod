module csvsplit

go 1.19
