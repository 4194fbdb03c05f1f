package caddymodule

import "testing"

func TestSpreadsheetTextNeutralisesEveryFormulaStart(t *testing.T) {
	for in, want := range map[string]string{
		"/plain":           "/plain",
		"a-b":              "a-b",
		"=HYPERLINK(1)":    "'=HYPERLINK(1)",
		"+1":               "'+1",
		"@SUM(1)":          "'@SUM(1)",
		"\t=1":             "'\t=1",
		"\r=1":             "'\r=1",
		"a;-b":             "a;'-b",
		"x;\"=2+3;":        "x;'\"=2+3;",
		";\"=SUM(1,2);":    ";'\"=SUM(1,2);",
		" =1+1":            "' =1+1",
		"\"=1+1":           "'\"=1+1",
		"a; \" -1":         "a;' \" -1",
		"say \"hi\"; ok=1": "say \"hi\"; ok=1",
	} {
		if got := spreadsheetText(in); got != want {
			t.Errorf("spreadsheetText(%q) = %q, want %q", in, got, want)
		}
	}
}
