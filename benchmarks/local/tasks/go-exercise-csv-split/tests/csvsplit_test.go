package csvsplit

import (
	"reflect"
	"testing"
)

func TestSplitRecord(t *testing.T) {
	cases := []struct {
		line string
		sep  rune
		want []string
	}{
		{"a,b,c", ',', []string{"a", "b", "c"}},
		{"", ',', []string{""}},
		{",", ',', []string{"", ""}},
		{"a;b,c", ';', []string{"a", "b,c"}},
		{`"x,y",z`, ',', []string{"x,y", "z"}},
		{`"say ""hi""",2`, ',', []string{`say "hi"`, "2"}},
		{`""`, ',', []string{""}},
		{`a,""`, ',', []string{"a", ""}},
		{`ab"c,d`, ',', []string{`ab"c`, "d"}},
		{` "x"`, ',', []string{` "x"`}},
		{" a , b ", ',', []string{" a ", " b "}},
		{`"ä€",ü`, ',', []string{"ä€", "ü"}},
		{"x\ty", '\t', []string{"x", "y"}},
		{`"a` + "\n" + `b"`, ',', []string{"a\nb"}},
	}
	for _, tc := range cases {
		got, err := SplitRecord(tc.line, tc.sep)
		if err != nil || !reflect.DeepEqual(got, tc.want) {
			t.Errorf("SplitRecord(%q) = %q, %v; want %q", tc.line, got, err, tc.want)
		}
	}
}

func TestSplitRecordErrors(t *testing.T) {
	for _, line := range []string{`"abc`, `"a""`, `"a"b,c`, `x,"y" ,z`} {
		got, err := SplitRecord(line, ',')
		if err == nil || got != nil {
			t.Errorf("SplitRecord(%q) = %q, %v; want nil and an error", line, got, err)
		}
	}
}
