package admin

import (
	"context"
	"net/http"
	"net/url"
	"strconv"
)

// The Client's calls for the points mall. Changes need Client.Operator
// and a note.

func rewardsPath(program string) string {
	return "/v1/programs/" + url.PathEscape(program) + "/rewards"
}

func orderPath(seq uint64) string { return "/v1/orders/" + strconv.FormatUint(seq, 10) }

// Rewards lists a program's catalog.
func (c *Client) Rewards(ctx context.Context, program string) (*RewardList, error) {
	var out RewardList
	if err := c.doJSON(ctx, http.MethodGet, rewardsPath(program), nil, &out); err != nil {
		return nil, err
	}
	return &out, nil
}

// PutReward creates or replaces a reward of a program's catalog and
// returns it as stored.
func (c *Client) PutReward(ctx context.Context, program, id string, in RewardInput) (*RewardView, error) {
	var out RewardView
	if err := c.doJSON(ctx, http.MethodPut, rewardsPath(program)+"/"+url.PathEscape(id), in, &out); err != nil {
		return nil, err
	}
	return &out, nil
}

// RestockReward adds to a reward's stock (in.Add negative: writes off)
// and returns the reward after.
func (c *Client) RestockReward(ctx context.Context, program, id string, in RestockInput) (*RewardView, error) {
	var out RewardView
	if err := c.doJSON(ctx, http.MethodPost, rewardsPath(program)+"/"+url.PathEscape(id)+"/restock", in, &out); err != nil {
		return nil, err
	}
	return &out, nil
}

// PlaceOrder orders a reward of the card's program, paid with its points.
func (c *Client) PlaceOrder(ctx context.Context, pan string, in OrderRequest) (*OrderView, error) {
	var out OrderView
	if err := c.doJSON(ctx, http.MethodPost, cardPath(pan)+"/orders", in, &out); err != nil {
		return nil, err
	}
	return &out, nil
}

// Order reads an order.
func (c *Client) Order(ctx context.Context, seq uint64) (*OrderView, error) {
	var out OrderView
	if err := c.doJSON(ctx, http.MethodGet, orderPath(seq), nil, &out); err != nil {
		return nil, err
	}
	return &out, nil
}

// SetOrderStatus moves an order on (shipped, delivered, cancelled).
func (c *Client) SetOrderStatus(ctx context.Context, seq uint64, status, note string) (*OrderView, error) {
	var out OrderView
	if err := c.doJSON(ctx, http.MethodPost, orderPath(seq)+"/status", OrderStatusRequest{Status: status, Note: note}, &out); err != nil {
		return nil, err
	}
	return &out, nil
}

// CardOrders lists a card's orders, newest first (limit 0: the server's
// default).
func (c *Client) CardOrders(ctx context.Context, pan string, limit int) (*OrderList, error) {
	path := cardPath(pan) + "/orders"
	if limit > 0 {
		path += "?limit=" + strconv.Itoa(limit)
	}
	var out OrderList
	if err := c.doJSON(ctx, http.MethodGet, path, nil, &out); err != nil {
		return nil, err
	}
	return &out, nil
}
