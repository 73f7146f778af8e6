package main

import (
	"context"
	"errors"
	"fmt"
	"io"
	"net"
	"os"
	"path/filepath"
	"time"

	"github.com/cardcenter/cardcenter/admin"
	"github.com/cardcenter/cardcenter/gateway"
	"github.com/cardcenter/cardcenter/internal/logguard"
	"github.com/cardcenter/cardcenter/internal/metrics"
	"github.com/cardcenter/cardcenter/internal/privdir"
	"github.com/cardcenter/cardcenter/keys"
	"github.com/cardcenter/cardcenter/ledger"
	"github.com/cardcenter/cardcenter/provision"
	"github.com/cardcenter/cardcenter/settlement"
	"github.com/cockroachdb/pebble/v2/vfs"
	"github.com/rs/zerolog"
)

// Main is the running host: ledger, gateway and admin API, wired from a
// Config. Run starts it; Close drains and stops it in the right order
// (gateway first, so that every request in flight is answered, then the
// admin API, then the ledger, which commits what is queued).
type Main struct {
	Config *Config
	Log    zerolog.Logger
	// DemoFile, when set, is imported on a store that has no programs.
	DemoFile string
	// Imported says that Run imported DemoFile (the store was new).
	Imported bool
	// Now is the host clock (default time.Now).
	Now func() time.Time
	// LedgerFS, when set, is the file system the ledger's Pebble uses
	// (nil: the disk); tests wrap the disk to inject faults.
	LedgerFS vfs.FS

	// KEK is the host master key ring the store seals its secrets with.
	KEK     *keys.Ring
	Store   *ledger.Store
	Gateway *gateway.Server
	Admin   *admin.Server
	// Metrics is the host's Prometheus instrumentation, served at the
	// admin listener's GET /metrics.
	Metrics *metrics.Metrics
	adminLn net.Listener
	done    chan error
	// hostFile is DATA/host.json, written once the host listens.
	hostFile string
	// stopTiers ends the monthly tier review loop (startTierReviews).
	stopTiers func()
	// expiry is the daily loyalty expiry job; stopExpiry ends its loop
	// and expiryDone is closed when it has.
	expiry     *expiryJob
	stopExpiry context.CancelFunc
	expiryDone chan struct{}
	// settle is the nightly settlement job; stopSettle ends its loop and
	// settleDone is closed when it has.
	settle     *settleJob
	stopSettle context.CancelFunc
	settleDone chan struct{}
}

// NewLogger builds the zerolog logger of a configuration.
func NewLogger(c *Config, w io.Writer) (zerolog.Logger, error) {
	lvl, err := zerolog.ParseLevel(c.Log.Level)
	if err != nil {
		return zerolog.Nop(), fmt.Errorf("config log.level %q: %v", c.Log.Level, err)
	}
	if c.Log.Format == "console" {
		w = zerolog.ConsoleWriter{Out: w, TimeFormat: "15:04:05.000"}
	}
	return zerolog.New(w).Level(lvl).With().Timestamp().Logger(), nil
}

// Run opens the store, imports the demo file if asked and the store is
// new, and starts the gateway and the admin API. It returns once they
// listen.
func (m *Main) Run(ctx context.Context) error {
	c := m.Config
	// The data directory holds every card's data: 0700, files 0600. A
	// directory made looser (or by an older version) is tightened, and
	// that is logged; one that cannot be is refused (privdir).
	rep, err := privdir.Secure(c.DataDir)
	if err != nil {
		return fmt.Errorf("data_dir: %w", err)
	}
	if rep.Tightened > 0 {
		m.Log.Warn().Str("data_dir", c.DataDir).Str("was_mode", rep.WasMode.String()).Int("paths", rep.Tightened).
			Msg("data directory was readable by others: took group and other permissions off it and its contents")
	}
	loc, err := time.LoadLocation(c.Business.TimeZone)
	if err != nil {
		return err
	}
	// The host master key: a key file made on first start (0600, in the
	// private data directory), an environment variable, or a PKCS#11
	// token; while a rotation is in progress, the ring holds both keys.
	m.KEK, err = keys.OpenRing(c.Keys, c.DataDir)
	if err != nil {
		return fmt.Errorf("config keys: %w", err)
	}
	m.Log.Info().Str("kek", m.KEK.CurrentID()).Strs("kek_ring", m.KEK.IDs()).Msg("host master key open")
	m.Metrics = metrics.New()
	m.Store, err = ledger.Open(filepath.Join(c.DataDir, "ledger"), ledger.Options{
		Now: m.Now, Location: loc, CutoffHour: c.Business.CutoffHour,
		QueueLimit: c.QueueLimit, HotCards: c.HotCards, Logger: m.Log.With().Str("component", "ledger").Logger(),
		Sealer: m.KEK, Observer: m.Metrics, FS: m.LedgerFS,
	})
	if err != nil {
		return err
	}
	m.Metrics.WatchStore(m.Store)
	if m.DemoFile != "" {
		if progs, err := m.Store.Programs(); err != nil {
			return err
		} else if len(progs) == 0 {
			f, err := provision.Load(m.DemoFile)
			if err != nil {
				return err
			}
			sum, err := provision.Apply(ctx, m.Store, f)
			if err != nil {
				return fmt.Errorf("import %s: %w", m.DemoFile, err)
			}
			m.Log.Info().Str("file", m.DemoFile).Str("summary", sum.String()).Msg("demo data imported")
			m.Imported = true
		}
	}
	token, err := admin.LoadOrCreateToken(c.DataDir)
	if err != nil {
		return err
	}
	m.adminLn, err = admin.Listen(c.Admin.Addr, c.Admin.TLS)
	if errors.Is(err, admin.ErrPlainRemote) {
		return fmt.Errorf("config admin.%w; set admin.tls.cert and admin.tls.key, or listen on 127.0.0.1", err)
	} else if err != nil {
		return fmt.Errorf("config admin.%w", err)
	}
	// One guard for the gateway and the admin API: GET /v1/stats shows
	// the counts of both.
	guard := logguard.New(logguard.Config{Now: m.Now})
	g := c.Gateway
	m.Gateway, err = gateway.New(gateway.Config{
		Listeners: g.Listeners, ReadTimeout: g.ReadTimeout, IdleTimeout: g.IdleTimeout,
		WriteTimeout: g.WriteTimeout, MaxConnections: g.MaxConnections, MaxInFlight: g.MaxInFlight,
		MaxConnectionsPerSource: g.MaxConnectionsPerSource, Guard: guard,
		Logger: m.Log.With().Str("component", "gateway").Logger(), Keys: m.Store,
		Observer: m.Metrics,
	}, m.Store)
	if err != nil {
		return err
	}
	for _, l := range m.Gateway.Listeners() {
		m.Metrics.AddListener(l.Name, l.Kind)
	}
	m.expiry = newExpiryJob(m.Store, c.DataDir, m.Now, m.Log.With().Str("component", "expiry").Logger())
	m.settle = newSettleJob(m.Store, c.DataDir, m.Now, m.Log.With().Str("component", "settlement").Logger())
	m.Admin, err = admin.New(admin.Config{Store: m.Store, Token: token, Logger: m.Log.With().Str("component", "admin").Logger(),
		Now: m.Now, Guard: guard, Expire: func(ctx context.Context, d uint32) (ledger.ExpiryProgress, int, error) {
			return m.expiry.run(ctx, d, nil)
		}, Settle: func(ctx context.Context, d uint32, early bool) (settlement.Result, error) {
			return m.settle.run(ctx, d, early, nil)
		}, Metrics: m.Metrics.Handler(), Ready: m.ready})
	if err != nil {
		return err
	}
	m.done = make(chan error, 1)
	go func() { m.done <- m.Admin.Serve(m.adminLn) }()
	m.Log.Info().Str("addr", m.adminLn.Addr().String()).Bool("tls", c.Admin.TLS != nil).
		Str("token_file", filepath.Join(c.DataDir, "admin.token")).Msg("admin API listening")

	if err := m.Gateway.Start(); err != nil {
		return err
	}
	m.stopTiers = startTierReviews(m.Store, m.Log.With().Str("component", "tiers").Logger())
	// The CLI finds this host, and its token, through the data directory.
	m.hostFile = filepath.Join(c.DataDir, hostFileName)
	if err := writeHostInfo(m.hostFile, hostInfoOf(m)); err != nil {
		return fmt.Errorf("host file: %w", err)
	}
	jobCtx, stop := context.WithCancel(context.Background())
	m.stopExpiry, m.expiryDone = stop, make(chan struct{})
	go func() { defer close(m.expiryDone); m.expiry.loop(jobCtx) }()
	settleCtx, stopSettle := context.WithCancel(context.Background())
	m.stopSettle, m.settleDone = stopSettle, make(chan struct{})
	go func() { defer close(m.settleDone); m.settle.loop(settleCtx) }()
	return nil
}

// Close stops accepting, answers what is in flight, and closes the store.
func (m *Main) Close() error {
	ctx, cancel := context.WithTimeout(context.Background(), 30*time.Second)
	defer cancel()
	var errs []error
	if m.hostFile != "" {
		// First, so that the CLI does not pick a host that is stopping.
		if err := os.Remove(m.hostFile); err != nil && !errors.Is(err, os.ErrNotExist) {
			errs = append(errs, err)
		}
		m.hostFile = ""
	}
	if m.Gateway != nil {
		errs = append(errs, m.Gateway.Shutdown(ctx))
	}
	if m.Admin == nil && m.adminLn != nil {
		m.adminLn.Close() // bound, but Run failed before serving it
	}
	if m.Admin != nil {
		errs = append(errs, m.Admin.Shutdown(ctx))
		if err := <-m.done; err != nil && !errors.Is(err, net.ErrClosed) && err.Error() != "http: Server closed" {
			errs = append(errs, err)
		}
	}
	if m.stopTiers != nil {
		m.stopTiers()
		m.stopTiers = nil
	}
	if m.stopExpiry != nil {
		// Stopped mid-run it resumes at the next start (ExpireLots).
		m.stopExpiry()
		<-m.expiryDone
		m.stopExpiry = nil
	}
	if m.stopSettle != nil {
		// Stopped mid-run it resumes at the next start (settlement.Job).
		m.stopSettle()
		<-m.settleDone
		m.stopSettle = nil
	}
	if m.Store != nil {
		errs = append(errs, m.Store.Close())
	}
	if m.KEK != nil {
		errs = append(errs, m.KEK.Close())
		m.KEK = nil
	}
	return errors.Join(errs...)
}

// ready is GET /readyz: the ledger open and not failed, the gateway
// started and not shutting down. The gateway is made before the admin API
// serves, so that this never sees it unset; until Start it is not ready.
func (m *Main) ready() error {
	if err := admin.LedgerReady(m.Store); err != nil {
		return err
	}
	return m.Gateway.Ready()
}
