package postgres

import "testing"

func TestSQLOfNumbersPlaceholders(t *testing.T) {
	for _, c := range []struct{ in, want string }{
		{`SELECT 1`, `SELECT 1`},
		{`SELECT ? FROM t WHERE a = ?`, `SELECT $1 FROM t WHERE a = $2`},
		{`-- é, ü, 日本 ?` + "\n" + `x = ?`, `-- é, ü, 日本 $1` + "\n" + `x = $2`},
		{`?,?,?,?,?,?,?,?,?,?,?`, `$1,$2,$3,$4,$5,$6,$7,$8,$9,$10,$11`},
	} {
		if got := sqlOf(c.in); got != c.want {
			t.Errorf("sqlOf(%q) = %q, want %q", c.in, got, c.want)
		}
	}
}
