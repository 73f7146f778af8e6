package main

import (
	"bytes"
	"fmt"
	"os"
	"time"
	_ "time/tzdata" // business time zones must load on minimal hosts

	"github.com/cardcenter/cardcenter/gateway"
	"github.com/cardcenter/cardcenter/internal/tlsconf"
	"gopkg.in/yaml.v3"
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
}

const (
	defaultDataDir     = "var/data"
	defaultGatewayAddr = "127.0.0.1:8583"
	defaultAdminAddr   = "127.0.0.1:8580"
	defaultTimeZone    = "Asia/Shanghai"
	maxConfigBytes     = 1 << 20
)

// LoadConfig reads a configuration file; path "" gives the defaults.
// Unknown keys are errors that name the key.
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
		dec := yaml.NewDecoder(bytes.NewReader(raw))
		dec.KnownFields(true)
		if err := dec.Decode(c); err != nil && err.Error() != "EOF" {
			return nil, fmt.Errorf("config %s: %w", path, err)
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
		c.Gateway.Listeners = []gateway.ListenerConfig{{Addr: defaultGatewayAddr, Framing: "len2", Packager: "ascii"}}
	}
	if c.Admin.Addr == "" {
		c.Admin.Addr = defaultAdminAddr
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
		if l.Addr == "" {
			return fmt.Errorf("config gateway.listeners[%d].addr: missing", i)
		}
	}
	if c.Gateway.MaxConnections < 0 || c.Gateway.MaxInFlight < 0 || c.QueueLimit < 0 {
		return fmt.Errorf("config: limits must not be negative")
	}
	return nil
}
