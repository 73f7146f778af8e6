package admin

import (
	"context"
	"net/http"
	"net/url"
	"strconv"

	"github.com/cardcenter/cardcenter/ledger"
)

// The Client's calls for operators' security changes. Each change needs
// Client.Operator and a note.

// LoadTMK loads a terminal's master key from its custodians' components.
func (c *Client) LoadTMK(ctx context.Context, tid string, in KeyLoadRequest) (*KeyLoadResult, error) {
	var out KeyLoadResult
	if err := c.doJSON(ctx, http.MethodPost, "/v1/terminals/"+url.PathEscape(tid)+"/tmk", in, &out); err != nil {
		return nil, err
	}
	return &out, nil
}

// LoadIMK loads a program's issuer master key from its custodians'
// components.
func (c *Client) LoadIMK(ctx context.Context, id string, in KeyLoadRequest) (*KeyLoadResult, error) {
	var out KeyLoadResult
	if err := c.doJSON(ctx, http.MethodPost, "/v1/programs/"+url.PathEscape(id)+"/imk", in, &out); err != nil {
		return nil, err
	}
	return &out, nil
}

// UnblockPIN lifts a card's PIN block and resets its wrong-PIN count.
func (c *Client) UnblockPIN(ctx context.Context, pan, note string) (*CardView, error) {
	var out CardView
	if err := c.doJSON(ctx, http.MethodPost, cardPath(pan)+"/pin/unblock", NoteRequest{Note: note}, &out); err != nil {
		return nil, err
	}
	return &out, nil
}

// SetCardBlacklisted puts a card on the blacklist (on) or takes it off.
func (c *Client) SetCardBlacklisted(ctx context.Context, pan string, on bool, note string) (*CardView, error) {
	var out CardView
	if err := c.doJSON(ctx, http.MethodPost, cardPath(pan)+"/blacklist", BlacklistRequest{On: &on, Note: note}, &out); err != nil {
		return nil, err
	}
	return &out, nil
}

// BINBlacklist lists the blacklisted BIN ranges.
func (c *Client) BINBlacklist(ctx context.Context) ([]ledger.BINRange, error) {
	var out BINList
	err := c.doJSON(ctx, http.MethodGet, "/v1/blacklist/bins", nil, &out)
	return out.Ranges, err
}

// AddBINRange blacklists a BIN range and returns the list after it.
func (c *Client) AddBINRange(ctx context.Context, low, high, note string) ([]ledger.BINRange, error) {
	var out BINList
	err := c.doJSON(ctx, http.MethodPost, "/v1/blacklist/bins", BINRangeRequest{Low: low, High: high, Note: note}, &out)
	return out.Ranges, err
}

// RemoveBINRange takes a BIN range off the blacklist and returns the
// list after it.
func (c *Client) RemoveBINRange(ctx context.Context, low, high, note string) ([]ledger.BINRange, error) {
	var out BINList
	path := "/v1/blacklist/bins/" + url.PathEscape(low+"-"+high)
	err := c.doJSON(ctx, http.MethodDelete, path, NoteRequest{Note: note}, &out)
	return out.Ranges, err
}

// Audit lists audit records after seq (0: from the first), oldest first
// (limit 0: the server's default).
func (c *Client) Audit(ctx context.Context, after uint64, limit int) (*AuditList, error) {
	q := url.Values{}
	if after > 0 {
		q.Set("after", strconv.FormatUint(after, 10))
	}
	if limit > 0 {
		q.Set("limit", strconv.Itoa(limit))
	}
	path := "/v1/audit"
	if len(q) > 0 {
		path += "?" + q.Encode()
	}
	var out AuditList
	if err := c.doJSON(ctx, http.MethodGet, path, nil, &out); err != nil {
		return nil, err
	}
	return &out, nil
}
