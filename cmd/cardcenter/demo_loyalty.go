package main

// The loyalty part of the demo: a points-mall catalog put through the
// admin API before the POS script (the provisioning file has no rewards),
// and, after it, the member view of the card whose purchase crossed a
// tier threshold, so that a newcomer sees the upgrade the POS lines
// cannot show.

import (
	"context"
	"fmt"
	"io"
	"path/filepath"

	"github.com/cardcenter/cardcenter/admin"
	"github.com/cardcenter/cardcenter/provision"
)

// demoMemberCard is the card whose member view the demo prints: the
// script's television moves alice from Pearl to Ruby.
const demoMemberCard = "alice"

// demoMemberEarnings is how many of her latest earnings the view lists.
const demoMemberEarnings = 4

// demoRewards is the points mall's catalog the demo puts in the program
// of demoMemberCard when it lacks them.
var demoRewards = []struct {
	id, name     string
	price, stock int64
}{
	{"coffee-voucher", "Corner Coffee voucher", 300, 100},
	{"tote-bag", "Grand Mall tote bag", 1500, 20},
}

// demoAdmin is a client of the demo host's own admin API, as the README's
// commands are. A TLS admin API is left to those commands (nil): the demo
// would need its CA.
func demoAdmin(m *Main) (*admin.Client, error) {
	if m.Config.Admin.TLS != nil {
		return nil, nil
	}
	tok, err := admin.ReadToken(filepath.Join(m.Config.DataDir, "admin.token"))
	if err != nil {
		return nil, err
	}
	return &admin.Client{BaseURL: "http://" + m.adminLn.Addr().String(), Token: tok, Operator: "demo"}, nil
}

// demoCatalog puts the rewards the program's catalog lacks (a rerun
// leaves stock and orders as they are) and says where to see them.
func demoCatalog(ctx context.Context, out io.Writer, c *admin.Client, file *provision.File) error {
	a, ok := file.Alias(demoMemberCard)
	if c == nil || !ok {
		return nil
	}
	ctx, cancel := context.WithTimeout(ctx, adminCallTimeout)
	defer cancel()
	have, err := c.Rewards(ctx, a.ProgramID)
	if err != nil {
		return fmt.Errorf("demo rewards of %s: %w", a.ProgramID, err)
	}
	known := map[string]bool{}
	for _, r := range have.Rewards {
		known[r.ID] = true
	}
	active := true
	for _, r := range demoRewards {
		if known[r.id] {
			continue
		}
		in := admin.RewardInput{Name: r.name, PointsPrice: &r.price, Stock: &r.stock, Active: &active, Note: "demo catalog"}
		if _, err := c.PutReward(ctx, a.ProgramID, r.id, in); err != nil {
			return fmt.Errorf("demo reward %s/%s: %w", a.ProgramID, r.id, err)
		}
	}
	fmt.Fprintf(out, "points mall: %d rewards in %s's catalog (bin/cardcenter mall reward list %s)\n",
		len(demoRewards), a.ProgramID, a.ProgramID)
	return nil
}

// demoMemberView prints the member view of demoMemberCard: tier and its
// history (the upgrade), points by lot, spend, the latest earnings.
func demoMemberView(ctx context.Context, out io.Writer, c *admin.Client, file *provision.File) error {
	a, ok := file.Alias(demoMemberCard)
	if c == nil || !ok {
		return nil
	}
	ctx, cancel := context.WithTimeout(ctx, adminCallTimeout)
	defer cancel()
	v, err := c.CardLoyalty(ctx, a.PAN, demoMemberEarnings)
	if err != nil {
		return fmt.Errorf("demo member view of %s: %w", demoMemberCard, err)
	}
	fmt.Fprintf(out, "\n%s's loyalty after the script (bin/cardcenter card loyalty %s):\n", demoMemberCard, demoMemberCard)
	printMemberView(out, v, true)
	return nil
}
