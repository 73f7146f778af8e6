package admin

import (
	"bytes"
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"net"
	"net/http"
	"net/url"
	"strconv"
	"strings"
	"time"

	"github.com/cardcenter/cardcenter/internal/cardnum"
	"github.com/cardcenter/cardcenter/ledger"
)

const (
	// DefaultClientTimeout bounds one call of a Client without its own
	// http.Client; it covers an import of a large file.
	DefaultClientTimeout = 3 * time.Minute
	// maxResponseBytes bounds what the client reads of a response.
	maxResponseBytes = 32 << 20
)

// ErrUnreachable: the client could not connect to the admin server at all
// (nothing was sent). Callers may fall back to opening the store directly.
var ErrUnreachable = errors.New("admin server not reachable")

// APIError is an error answer of the API.
type APIError struct {
	Status int
	Body   ErrorBody
}

func (e *APIError) Error() string {
	msg := e.Body.Error
	if msg == "" {
		msg = http.StatusText(e.Status)
	}
	return fmt.Sprintf("admin API: %d: %s", e.Status, msg)
}

// Client calls the admin API. The zero HTTP uses its own http.Client with
// DefaultClientTimeout.
type Client struct {
	// BaseURL is the server, e.g. "http://127.0.0.1:7080".
	BaseURL string
	// Token is the bearer token (ReadToken).
	Token string
	// Operator names who makes changes, for the audit records; sent in
	// OperatorHeader. Security changes (card state, blacklists, PIN
	// unblock, key loads) are refused without it.
	Operator string
	HTTP     *http.Client
}

var defaultHTTP = &http.Client{Timeout: DefaultClientTimeout}

// do sends one request and decodes a 2xx answer into out. Errors name the
// request with any PAN in its path masked.
func (c *Client) do(ctx context.Context, method, path string, body io.Reader, contentType string, out any) error {
	where := method + " " + cardnum.Scrub(path)
	req, err := http.NewRequestWithContext(ctx, method, strings.TrimRight(c.BaseURL, "/")+path, body)
	if err != nil {
		return fmt.Errorf("admin client: %s: bad base URL", where)
	}
	if contentType != "" {
		req.Header.Set("Content-Type", contentType)
	}
	req.Header.Set("Accept", "application/json")
	if c.Token != "" {
		req.Header.Set("Authorization", "Bearer "+c.Token)
	}
	if c.Operator != "" {
		req.Header.Set(OperatorHeader, c.Operator)
	}
	hc := c.HTTP
	if hc == nil {
		hc = defaultHTTP
	}
	resp, err := hc.Do(req)
	if err != nil {
		// url.Error quotes the URL, which may hold a PAN: report the
		// cause alone.
		var ue *url.Error
		cause := err
		if errors.As(err, &ue) {
			cause = ue.Err
		}
		var op *net.OpError
		if errors.As(cause, &op) && op.Op == "dial" {
			return fmt.Errorf("%w: %s: %v", ErrUnreachable, where, op)
		}
		return fmt.Errorf("admin client: %s: %s", where, cardnum.Scrub(cause.Error()))
	}
	defer resp.Body.Close()
	data, err := io.ReadAll(io.LimitReader(resp.Body, maxResponseBytes+1))
	if err != nil {
		return fmt.Errorf("admin client: %s: read answer: %v", where, err)
	}
	if len(data) > maxResponseBytes {
		return fmt.Errorf("admin client: %s: answer larger than %d bytes", where, maxResponseBytes)
	}
	if resp.StatusCode/100 != 2 {
		e := &APIError{Status: resp.StatusCode}
		if json.Unmarshal(data, &e.Body) != nil {
			e.Body.Error = cardnum.Scrub(strings.TrimSpace(string(data)))
		}
		return e
	}
	if out == nil {
		return nil
	}
	if err := json.Unmarshal(data, out); err != nil {
		return fmt.Errorf("admin client: %s: bad answer: %v", where, err)
	}
	return nil
}

func (c *Client) doJSON(ctx context.Context, method, path string, in, out any) error {
	var body io.Reader
	ct := ""
	if in != nil {
		b, err := json.Marshal(in)
		if err != nil {
			return err
		}
		body, ct = bytes.NewReader(b), "application/json"
	}
	return c.do(ctx, method, path, body, ct, out)
}

// Health calls GET /healthz (no token needed).
func (c *Client) Health(ctx context.Context) error {
	var h HealthBody
	return c.doJSON(ctx, http.MethodGet, "/healthz", nil, &h)
}

// Programs lists the programs.
func (c *Client) Programs(ctx context.Context) ([]ProgramView, error) {
	var out ProgramList
	err := c.doJSON(ctx, http.MethodGet, "/v1/programs", nil, &out)
	return out.Programs, err
}

// Program reads one program.
func (c *Client) Program(ctx context.Context, id string) (*ProgramView, error) {
	var out ProgramView
	if err := c.doJSON(ctx, http.MethodGet, "/v1/programs/"+url.PathEscape(id), nil, &out); err != nil {
		return nil, err
	}
	return &out, nil
}

// PutProgram creates or replaces a program; a stored issuer master key
// is kept.
func (c *Client) PutProgram(ctx context.Context, p ProgramView) (*ProgramView, error) {
	var out ProgramView
	if err := c.doJSON(ctx, http.MethodPut, "/v1/programs/"+url.PathEscape(p.ID), p, &out); err != nil {
		return nil, err
	}
	return &out, nil
}

// Merchants lists the merchants.
func (c *Client) Merchants(ctx context.Context) ([]ledger.Merchant, error) {
	var out MerchantList
	err := c.doJSON(ctx, http.MethodGet, "/v1/merchants", nil, &out)
	return out.Merchants, err
}

// PutMerchant creates or replaces a merchant.
func (c *Client) PutMerchant(ctx context.Context, m ledger.Merchant) error {
	return c.doJSON(ctx, http.MethodPut, "/v1/merchants/"+url.PathEscape(m.MID), m, nil)
}

// Terminals lists the terminals with their runtime state.
func (c *Client) Terminals(ctx context.Context) ([]TerminalView, error) {
	var out TerminalList
	err := c.doJSON(ctx, http.MethodGet, "/v1/terminals", nil, &out)
	return out.Terminals, err
}

// Terminal reads one terminal with its runtime state.
func (c *Client) Terminal(ctx context.Context, tid string) (*TerminalView, error) {
	var out TerminalView
	if err := c.doJSON(ctx, http.MethodGet, "/v1/terminals/"+url.PathEscape(tid), nil, &out); err != nil {
		return nil, err
	}
	return &out, nil
}

// PutTerminal creates or replaces a terminal.
func (c *Client) PutTerminal(ctx context.Context, tid string, in TerminalInput) (*TerminalView, error) {
	var out TerminalView
	if err := c.doJSON(ctx, http.MethodPut, "/v1/terminals/"+url.PathEscape(tid), in, &out); err != nil {
		return nil, err
	}
	return &out, nil
}

// Cards lists a page of cards; pass the previous page's NextCursor.
func (c *Client) Cards(ctx context.Context, cursor string, limit int) (*CardList, error) {
	q := url.Values{}
	if cursor != "" {
		q.Set("cursor", cursor)
	}
	if limit > 0 {
		q.Set("limit", strconv.Itoa(limit))
	}
	path := "/v1/cards"
	if len(q) > 0 {
		path += "?" + q.Encode()
	}
	var out CardList
	if err := c.doJSON(ctx, http.MethodGet, path, nil, &out); err != nil {
		return nil, err
	}
	return &out, nil
}

func cardPath(pan string) string { return "/v1/cards/" + url.PathEscape(pan) }

// Card reads a card with its balances.
func (c *Client) Card(ctx context.Context, pan string) (*CardView, error) {
	var out CardView
	if err := c.doJSON(ctx, http.MethodGet, cardPath(pan), nil, &out); err != nil {
		return nil, err
	}
	return &out, nil
}

// PutCard creates or replaces a card.
func (c *Client) PutCard(ctx context.Context, pan string, in CardInput) (*CardView, error) {
	var out CardView
	if err := c.doJSON(ctx, http.MethodPut, cardPath(pan), in, &out); err != nil {
		return nil, err
	}
	return &out, nil
}

// SetCardState moves a card to another state.
func (c *Client) SetCardState(ctx context.Context, pan, state, note string) (*CardView, error) {
	var out CardView
	if err := c.doJSON(ctx, http.MethodPost, cardPath(pan)+"/state", StateRequest{State: state, Note: note}, &out); err != nil {
		return nil, err
	}
	return &out, nil
}

// Adjust credits or debits a card's stored value or points.
func (c *Client) Adjust(ctx context.Context, pan string, in AdjustRequest) (*AdjustResult, error) {
	var out AdjustResult
	if err := c.doJSON(ctx, http.MethodPost, cardPath(pan)+"/adjust", in, &out); err != nil {
		return nil, err
	}
	return &out, nil
}

// CardHistory lists a card's journal entries, newest first (limit 0: the
// server's default).
func (c *Client) CardHistory(ctx context.Context, pan string, limit int) (*History, error) {
	path := cardPath(pan) + "/history"
	if limit > 0 {
		path += "?limit=" + strconv.Itoa(limit)
	}
	var out History
	if err := c.doJSON(ctx, http.MethodGet, path, nil, &out); err != nil {
		return nil, err
	}
	return &out, nil
}

// Check runs the ledger's consistency check.
func (c *Client) Check(ctx context.Context) (*CheckResult, error) {
	var out CheckResult
	if err := c.doJSON(ctx, http.MethodGet, "/v1/check", nil, &out); err != nil {
		return nil, err
	}
	return &out, nil
}

// Import sends a provisioning file (YAML) to be applied.
func (c *Client) Import(ctx context.Context, yamlData []byte) (*ImportResult, error) {
	var out ImportResult
	if err := c.do(ctx, http.MethodPost, "/v1/import", bytes.NewReader(yamlData), "application/yaml", &out); err != nil {
		return nil, err
	}
	return &out, nil
}
