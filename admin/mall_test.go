package admin

import (
	"context"
	"errors"
	"net/http"
	"testing"

	"github.com/cardcenter/cardcenter/ledger"
)

const mallProg = "mallcoalition"

func ptr[T any](v T) *T { return &v }

// TestMallAPI: a catalog entry, an order paid with points, its moves to
// shipped and cancelled (points and stock back), the card's list, all
// through the client; the env checks no answer or log line carries a
// clear PAN.
func TestMallAPI(t *testing.T) {
	e := newEnv(t)
	ctx := context.Background()
	alice := e.pan("alice")
	if _, err := e.store.AdjustPoints(ctx, alice, 500, "welcome"); err != nil {
		t.Fatal(err)
	}
	before, err := e.store.CardBalances(alice)
	if err != nil {
		t.Fatal(err)
	}
	rw, err := e.client.PutReward(ctx, mallProg, "umbrella", RewardInput{Name: "Umbrella", PointsPrice: ptr[int64](120), Stock: ptr[int64](3), Note: "spring catalog"})
	if err != nil || rw.Price != 120 || rw.Stock != 3 || !rw.Active || rw.ProgramID != mallProg {
		t.Fatalf("put reward: %+v %v", rw, err)
	}
	list, err := e.client.Rewards(ctx, mallProg)
	if err != nil || len(list.Rewards) != 1 || list.Rewards[0].ID != "umbrella" {
		t.Fatalf("rewards: %+v %v", list, err)
	}
	o, err := e.client.PlaceOrder(ctx, alice, OrderRequest{Reward: "umbrella", Qty: 2, Note: "phone order"})
	if err != nil || o.Points != 240 || o.Status != ledger.OrderPlaced || o.PAN == alice || o.PAN[:6] != alice[:6] {
		t.Fatalf("place order: %+v %v", o, err)
	}
	if b, _ := e.store.CardBalances(alice); b.Points != before.Points-240 {
		t.Fatalf("points %d after the order: want %d", b.Points, before.Points-240)
	}
	// A restock adds to the stock as it stands: 3 read, 2 ordered since, 5 more.
	rw, err = e.client.RestockReward(ctx, mallProg, "umbrella", RestockInput{Add: ptr[int64](5), Note: "delivery 17"})
	if err != nil || rw.Stock != 6 || rw.Price != 120 || rw.Name != "Umbrella" {
		t.Fatalf("restock: %+v %v: want stock 6", rw, err)
	}
	if recs, err := e.store.AuditLog(0, 0); err != nil || recs[len(recs)-1].Action != "mall_reward_restock" ||
		recs[len(recs)-1].Detail != "stock 1 -> 6 (+5)" || recs[len(recs)-1].Reason != "delivery 17" {
		t.Fatalf("audit after the restock: %+v %v", recs[len(recs)-1], err)
	}
	got, err := e.client.Order(ctx, o.Seq)
	if err != nil || got.Seq != o.Seq || got.Qty != 2 || len(got.History) != 1 || got.History[0].Operator != testOperator {
		t.Fatalf("order: %+v %v", got, err)
	}
	if _, err := e.client.SetOrderStatus(ctx, o.Seq, "shipped", "courier picked up"); err != nil {
		t.Fatal(err)
	}
	got, err = e.client.SetOrderStatus(ctx, o.Seq, "cancelled", "returned")
	if err != nil || got.Status != ledger.OrderCancelled || got.CancelSeq == 0 {
		t.Fatalf("cancel: %+v %v", got, err)
	}
	if b, _ := e.store.CardBalances(alice); b.Points != before.Points {
		t.Fatalf("points %d after the cancel: want %d back", b.Points, before.Points)
	}
	if r, _ := e.store.Reward(mallProg, "umbrella"); r.Stock != 8 {
		t.Fatalf("stock %d after the cancel: want 8 (6 and the 2 back)", r.Stock)
	}
	// A cancelled order is final: 409 naming status.
	_, err = e.client.SetOrderStatus(ctx, o.Seq, "delivered", "oops")
	var apiErr *APIError
	if !errors.As(err, &apiErr) || apiErr.Status != http.StatusConflict || apiErr.Body.Field != "status" {
		t.Fatalf("delivering a cancelled order: %v", err)
	}
	ol, err := e.client.CardOrders(ctx, alice, 0)
	if err != nil || len(ol.Orders) != 1 || ol.Orders[0].Seq != o.Seq || ol.PAN == alice {
		t.Fatalf("card orders: %+v %v", ol, err)
	}
	check, err := e.client.Check(ctx)
	if err != nil || !check.OK {
		t.Fatalf("check: %+v %v", check, err)
	}
}

// TestMallAPIBadInput: every bad request answers 400 (or 404/409) naming
// the field and changes nothing.
func TestMallAPIBadInput(t *testing.T) {
	e := newEnv(t)
	ctx := context.Background()
	alice := e.pan("alice")
	if _, err := e.store.AdjustPoints(ctx, alice, 100, "welcome"); err != nil {
		t.Fatal(err)
	}
	if _, err := e.client.PutReward(ctx, mallProg, "mug", RewardInput{Name: "Mug", PointsPrice: ptr[int64](60), Stock: ptr[int64](1), Note: "catalog"}); err != nil {
		t.Fatal(err)
	}
	snapshot := func() (int, ledger.Points, int64) {
		b, _ := e.store.CardBalances(alice)
		r, _ := e.store.Reward(mallProg, "mug")
		return e.auditCount(), b.Points, r.Stock
	}
	a0, p0, s0 := snapshot()
	rewards := "/v1/programs/" + mallProg + "/rewards/"
	orders := "/v1/cards/" + alice + "/orders"
	for _, tc := range []struct {
		method, path, operator, body string
		status                       int
		field                        string
	}{
		{"PUT", rewards + "mug", testOperator, `{"name":"Mug","stock":1,"note":"x"}`, 400, "points_price"},
		{"PUT", rewards + "mug", testOperator, `{"name":"Mug","points_price":60,"note":"x"}`, 400, "stock"},
		{"PUT", rewards + "mug", testOperator, `{"name":"Mug","points_price":0,"stock":1,"note":"x"}`, 400, "points_price"},
		{"PUT", rewards + "mug", testOperator, `{"name":"Mug","points_price":60,"stock":-1,"note":"x"}`, 400, "stock"},
		{"PUT", rewards + "mug", testOperator, `{"name":"","points_price":60,"stock":1,"note":"x"}`, 400, "name"},
		{"PUT", rewards + "a.b", testOperator, `{"name":"Mug","points_price":60,"stock":1,"note":"x"}`, 400, "rid"},
		{"PUT", rewards + "mug", testOperator, `{"name":"Mug","points_price":60,"stock":1}`, 400, "note"},
		{"PUT", rewards + "mug", "", `{"name":"Mug","points_price":60,"stock":1,"note":"x"}`, 400, "operator"},
		{"PUT", rewards + "mug", testOperator, `{"name":"Mug","points_price":"60","stock":1,"note":"x"}`, 400, "points_price"},
		{"PUT", "/v1/programs/nope/rewards/mug", testOperator, `{"name":"Mug","points_price":60,"stock":1,"note":"x"}`, 404, ""},
		{"POST", rewards + "mug/restock", testOperator, `{"note":"x"}`, 400, "add"},
		{"POST", rewards + "mug/restock", testOperator, `{"add":0,"note":"x"}`, 400, "add"},
		{"POST", rewards + "mug/restock", testOperator, `{"add":1000000001,"note":"x"}`, 400, "add"},
		{"POST", rewards + "mug/restock", testOperator, `{"add":-1000000001,"note":"x"}`, 400, "add"},
		{"POST", rewards + "mug/restock", testOperator, `{"add":"5","note":"x"}`, 400, "add"},
		{"POST", rewards + "mug/restock", testOperator, `{"add":1.5,"note":"x"}`, 400, "add"},
		{"POST", rewards + "mug/restock", testOperator, `{"add":5,"note":"x","stock":6}`, 400, "stock"},
		{"POST", rewards + "mug/restock", testOperator, `{"add":5}`, 400, "note"},
		{"POST", rewards + "mug/restock", "", `{"add":5,"note":"x"}`, 400, "operator"},
		{"POST", rewards + "mug/restock", testOperator, `{"add":-2,"note":"x"}`, 409, "add"},
		{"POST", rewards + "mug/restock", testOperator, `{"add":1000000000,"note":"x"}`, 409, "add"},
		{"POST", rewards + "nope/restock", testOperator, `{"add":5,"note":"x"}`, 404, ""},
		{"POST", rewards + "a.b/restock", testOperator, `{"add":5,"note":"x"}`, 404, ""},
		{"POST", "/v1/programs/nope/rewards/mug/restock", testOperator, `{"add":5,"note":"x"}`, 404, ""},
		{"POST", orders, testOperator, `{"qty":1,"note":"x"}`, 400, "reward"},
		{"POST", orders, testOperator, `{"reward":"mug","qty":0,"note":"x"}`, 400, "qty"},
		{"POST", orders, testOperator, `{"reward":"mug","qty":1}`, 400, "note"},
		{"POST", orders, testOperator, `{"reward":"nope","qty":1,"note":"x"}`, 400, "reward"},
		{"POST", orders, testOperator, `{"reward":"mug","qty":1,"note":"x","pan":"1"}`, 400, "pan"},
		{"POST", orders, testOperator, `{"reward":"mug","qty":2,"note":"x"}`, 409, "qty"},
		{"POST", orders, "", `{"reward":"mug","qty":1,"note":"x"}`, 400, "operator"},
		{"POST", "/v1/cards/4111111111111112/orders", testOperator, `{"reward":"mug","qty":1,"note":"x"}`, 400, "pan"},
		{"GET", "/v1/orders/abc", testOperator, ``, 400, "seq"},
		{"GET", "/v1/orders/999999", testOperator, ``, 404, ""},
		{"POST", "/v1/orders/999999/status", testOperator, `{"status":"shipped","note":"x"}`, 404, ""},
		{"POST", "/v1/orders/1/status", testOperator, `{"status":"lost","note":"x"}`, 400, "status"},
		{"GET", "/v1/cards/" + alice + "/orders?limit=0", testOperator, ``, 400, "limit"},
	} {
		status, eb, body := e.rawAs(tc.method, tc.path, tc.operator, tc.body)
		if status != tc.status || eb.Field != tc.field {
			t.Errorf("%s %s %s: %d field %q, want %d %q: %s", tc.method, tc.path, tc.body, status, eb.Field, tc.status, tc.field, body)
		}
	}
	// Insufficient points: a price above what the card holds.
	if _, err := e.client.PutReward(ctx, mallProg, "mug", RewardInput{Name: "Mug", PointsPrice: ptr(int64(p0) + 1), Stock: ptr[int64](5), Note: "restock"}); err != nil {
		t.Fatal(err)
	}
	a0, s0 = a0+1, 5
	status, eb, body := e.rawAs("POST", orders, testOperator, `{"reward":"mug","qty":1,"note":"x"}`)
	if status != 400 || eb.Field != "qty" {
		t.Fatalf("insufficient points: %d %q %s", status, eb.Field, body)
	}
	if a, p, s := snapshot(); a != a0 || p != p0 || s != s0 {
		t.Fatalf("bad requests changed the store: audit %d→%d, points %d→%d, stock %d→%d", a0, a, p0, p, s0, s)
	}
}
