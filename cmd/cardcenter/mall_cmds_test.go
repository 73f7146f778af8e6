package main

import (
	"context"
	"strings"
	"testing"
)

// TestMallCommands: a reward put and listed, an order placed, shown,
// shipped, cancelled (points back) and listed, through the CLI and the
// admin API; refusals before anything is sent; no clear PAN printed.
func TestMallCommands(t *testing.T) {
	g, st, f, logs := demoAdminHost(t)
	a, _ := f.Alias("alice")
	if _, err := st.AdjustPoints(context.Background(), a.PAN, 300, "welcome"); err != nil {
		t.Fatal(err)
	}
	before, err := st.CardBalances(a.PAN)
	if err != nil {
		t.Fatal(err)
	}
	var all strings.Builder
	run := func(want string, args ...string) string {
		t.Helper()
		out, err := adminRun(t, g, args...)
		if err != nil {
			t.Fatalf("%s: %v\n%s", strings.Join(args, " "), err, out)
		}
		if !strings.Contains(out, want) {
			t.Fatalf("%s: output %q lacks %q", strings.Join(args, " "), out, want)
		}
		all.WriteString(out)
		return out
	}
	run(`reward mallcoalition/tote "Tote bag": 100 points, stock 2, active`,
		"mall", "reward", "put", "mallcoalition", "tote", "--name", "Tote bag", "--price", "100", "--stock", "2", "--note", "autumn catalog")
	run("tote    Tote bag  100     2      active", "mall", "reward", "list", "mallcoalition")
	run(`reward mallcoalition/tote "Tote bag": +5, stock 7, active`, "mall", "restock", "mallcoalition", "tote", "--add", "5", "--note", "delivery 17")
	run(`reward mallcoalition/tote "Tote bag": -5, stock 2, active`, "mall", "restock", "mallcoalition", "tote", "--add", "-5", "--note", "five broken")
	out := run("2 × tote, 200 points, placed", "mall", "order", "place", "alice", "--cards", adminTestDemo, "--reward", "tote", "--qty", "2", "--note", "phone order")
	seq := strings.TrimSuffix(strings.Fields(out)[1], ":")
	run("shipped", "mall", "order", "status", seq, "shipped", "--note", "courier")
	run("cancelled by li.wei: returned", "mall", "order", "status", seq, "cancelled", "--note", "returned")
	run("placed    by li.wei: phone order", "mall", "order", "show", seq)
	run("tote    2    200     cancelled", "mall", "order", "list", a.PAN)
	if b, _ := st.CardBalances(a.PAN); b.Points != before.Points {
		t.Fatalf("points %d after the cancel: want %d", b.Points, before.Points)
	}
	for _, tc := range []struct {
		args []string
		want string
	}{
		{[]string{"mall", "order", "place", a.PAN, "--reward", "tote"}, "--note is required"},
		{[]string{"mall", "order", "place", a.PAN, "--note", "x"}, "--reward is required"},
		{[]string{"mall", "reward", "put", "mallcoalition", "x", "--name", "X", "--stock", "1", "--note", "x"}, "--price is required"},
		{[]string{"mall", "order", "show", "abc"}, `order "abc": want an order number`},
		{[]string{"mall", "order", "status", seq, "delivered", "--note", "x"}, "it cannot become delivered"},
		{[]string{"mall", "order", "place", a.PAN, "--reward", "tote", "--qty", "3", "--note", "x"}, "in stock"},
		{[]string{"mall", "restock", "mallcoalition", "tote", "--note", "x"}, "--add is required"},
		{[]string{"mall", "restock", "mallcoalition", "tote", "--add", "3"}, "--note is required"},
		{[]string{"mall", "restock", "mallcoalition", "tote", "--add", "0", "--note", "x"}, "add: 0: want -1000000000..1000000000, not 0"},
		{[]string{"mall", "restock", "mallcoalition", "tote", "--add", "-3", "--note", "x"}, "add -3 to stock 2 makes -1: want 0..1000000000"},
		{[]string{"mall", "restock", "mallcoalition", "nope", "--add", "1", "--note", "x"}, `reward "nope" of program "mallcoalition" not found`},
		{[]string{"mall", "restock", "mallcoalition", "--add", "1", "--note", "x"}, "accepts 2 arg(s)"},
	} {
		out, err := adminRun(t, g, tc.args...)
		if err == nil || !strings.Contains(err.Error()+out, tc.want) {
			t.Errorf("%s: %v %q, want an error with %q", strings.Join(tc.args, " "), err, out, tc.want)
		}
		if err != nil {
			all.WriteString(err.Error())
		}
	}
	adminNoClearPAN(t, f, all.String())
	adminNoClearPAN(t, f, logs.String())
}
