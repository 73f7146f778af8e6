package main

import (
	"fmt"
	"os"
	"time"
	_ "time/tzdata" // business time zones must load on minimal hosts

	"github.com/cardcenter/cardcenter/gateway"
	"github.com/cardcenter/cardcenter/internal/tlsconf"
	"github.com/cardcenter/cardcenter/keys"
	"github.com/cardcenter/cardcenter/ledger"
	"github.com/cardcenter/cardcenter/provision"
)

// Config is the host's configuration file (docs/operations.md). Every key
// has a default, so an empty file (or none) runs a host on localhost.
type Config struct {
	DataDir string `yaml:"data_dir"`
	Log     struct {
		Format string `yaml:"format"` // json or console
		Level  string `yaml:"level"`  // debug, info, warn, error
	} `yaml:"log"`
	Business struct {
		TimeZone   string `yaml:"time_zone"`
		CutoffHour int    `yaml:"cutoff_hour"`
	} `yaml:"business"`
	Gateway struct {
		Listeners      []gateway.ListenerConfig `yaml:"listeners"`
		ReadTimeout    time.Duration            `yaml:"read_timeout"`
		IdleTimeout    time.Duration            `yaml:"idle_timeout"`
		WriteTimeout   time.Duration            `yaml:"write_timeout"`
		MaxConnections int                      `yaml:"max_connections"`
		// MaxConnectionsPerSource bounds one remote IP address's
		// connections (default gateway.DefaultMaxConnectionsPerSource).
		MaxConnectionsPerSource int `yaml:"max_connections_per_source"`
		MaxInFlight             int `yaml:"max_in_flight"`
	} `yaml:"gateway"`
	Admin struct {
		Addr string `yaml:"addr"`
		// TLS is required when Addr is not a loopback address.
		TLS *tlsconf.Server `yaml:"tls"`
	} `yaml:"admin"`
	// QueueLimit bounds requests waiting for the ledger writer.
	QueueLimit int `yaml:"queue_limit"`
	// HotCards is how many cards' records the ledger writer keeps in
	// memory (ledger.Options.HotCards).
	HotCards int `yaml:"hot_cards"`
	// Keys is where the host master key (KEK) comes from: it seals every
	// key and the PIN verification key the store keeps.
	Keys keys.Config `yaml:"keys"`
}

const (
	defaultDataDir     = "var/data"
	defaultGatewayAddr = "127.0.0.1:8583"
	defaultAdminAddr   = "127.0.0.1:8580"
	defaultTimeZone    = "Asia/Shanghai"
	maxConfigBytes     = 1 << 20
)

// LoadConfig reads a configuration file; path "" gives the defaults.
// Unknown keys, values of the wrong kind and syntax errors are errors
// that name the key path and line.
func LoadConfig(path string) (*Config, error) {
	c := &Config{}
	if path != "" {
		raw, err := os.ReadFile(path)
		if err != nil {
			return nil, fmt.Errorf("config: %w", err)
		}
		if len(raw) > maxConfigBytes {
			return nil, fmt.Errorf("config %s: larger than %d bytes", path, maxConfigBytes)
		}
		// The provisioning format's strict decoder: a typo is reported
		// as its key path and line, not as a Go type.
		if err := provision.DecodeStrict(raw, c); err != nil {
			return nil, fmt.Errorf("config %s:\n%w", path, err)
		}
	}
	c.defaults()
	return c, c.validate()
}

func (c *Config) defaults() {
	if c.DataDir == "" {
		c.DataDir = defaultDataDir
	}
	if c.Log.Format == "" {
		c.Log.Format = "json"
	}
	if c.Log.Level == "" {
		c.Log.Level = "info"
	}
	if c.Business.TimeZone == "" {
		c.Business.TimeZone = defaultTimeZone
	}
	if len(c.Gateway.Listeners) == 0 {
		c.Gateway.Listeners = []gateway.ListenerConfig{{Addr: defaultGatewayAddr}}
	}
	for i := range c.Gateway.Listeners {
		l := &c.Gateway.Listeners[i]
		if l.Kind == "" {
			l.Kind = gateway.DefaultListenKind
		}
		if l.Framing == "" && l.Kind == gateway.KindSerial {
			l.Framing = gateway.DefaultSerialFraming
		} else if l.Framing == "" {
			l.Framing = gateway.DefaultListenFraming
		}
		if l.Packager == "" {
			l.Packager = gateway.DefaultListenPackager
		}
	}
	// The gateway and the ledger have the same defaults for zero values;
	// they are written out here so that the configuration in effect (and
	// cardcenter.example.yaml, which a test compares with it) shows them.
	g := &c.Gateway
	setDefault(&g.ReadTimeout, gateway.DefaultReadTimeout)
	setDefault(&g.IdleTimeout, gateway.DefaultIdleTimeout)
	setDefault(&g.WriteTimeout, gateway.DefaultWriteTimeout)
	setDefault(&g.MaxConnections, gateway.DefaultMaxConnections)
	setDefault(&g.MaxConnectionsPerSource, gateway.DefaultMaxConnectionsPerSource)
	setDefault(&g.MaxInFlight, gateway.DefaultMaxInFlight)
	setDefault(&c.QueueLimit, ledger.DefaultQueueLimit)
	setDefault(&c.HotCards, ledger.DefaultHotCards)
	if c.Admin.Addr == "" {
		c.Admin.Addr = defaultAdminAddr
	}
	setDefault(&c.Keys.Source, keys.SourceFile)
}

// setDefault sets *v to def when it is zero.
func setDefault[T comparable](v *T, def T) {
	var zero T
	if *v == zero {
		*v = def
	}
}

func (c *Config) validate() error {
	if c.Log.Format != "json" && c.Log.Format != "console" {
		return fmt.Errorf("config log.format %q: want json or console", c.Log.Format)
	}
	if _, err := time.LoadLocation(c.Business.TimeZone); err != nil {
		return fmt.Errorf("config business.time_zone %q: %v", c.Business.TimeZone, err)
	}
	if c.Business.CutoffHour < 0 || c.Business.CutoffHour > 23 {
		return fmt.Errorf("config business.cutoff_hour %d: want 0..23", c.Business.CutoffHour)
	}
	for i, l := range c.Gateway.Listeners {
		switch {
		case l.Kind == gateway.KindSerial && (l.Serial == nil || l.Serial.Device == ""):
			return fmt.Errorf("config gateway.listeners[%d].serial.device: missing (kind serial needs a device path)", i)
		case l.Kind == gateway.KindSerial:
		case l.Kind != gateway.KindTCP:
			return fmt.Errorf("config gateway.listeners[%d].kind %q: want tcp or serial", i, l.Kind)
		case l.Addr == "":
			return fmt.Errorf("config gateway.listeners[%d].addr: missing", i)
		}
	}
	if c.Gateway.MaxConnections < 0 || c.Gateway.MaxInFlight < 0 || c.QueueLimit < 0 || c.HotCards < 0 {
		return fmt.Errorf("config: limits must not be negative")
	}
	return nil
}
