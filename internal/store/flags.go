package store

import "flag"

// RegisterFlags binds c to its flags in fs: -data and -database.
func (c *Config) RegisterFlags(fs *flag.FlagSet) {
	fs.StringVar(&c.Data, "data", "/var/lib/iexbox", "folder of the SQLite database that keeps recordings and classes, created if missing (unused with -database)")
	fs.StringVar(&c.Database, "database", "", "a postgres:// URL: keep recordings and classes in PostgreSQL instead, shared by several servers")
}
