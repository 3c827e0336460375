// Package flagenv parses command-line flags that environment variables can
// also set: -idle-timeout is PREFIX_IDLE_TIMEOUT, and a flag on the command
// line wins over its variable. Both commands use it, so their flags behave
// the same way.
package flagenv

import (
	"errors"
	"flag"
	"fmt"
	"strings"
)

// Name is the environment variable of the flag name under prefix.
func Name(prefix, flagName string) string {
	return prefix + "_" + strings.ToUpper(strings.ReplaceAll(flagName, "-", "_"))
}

// Parse parses args (without the program name) into fs, refuses
// positional arguments, then sets every flag not given on the command line
// from its variable when that is not empty. It returns flag.ErrHelp after
// -h, and names the variable of a value that does not parse.
func Parse(fs *flag.FlagSet, args []string, prefix string, getenv func(string) string) error {
	if err := fs.Parse(args); err != nil {
		return err
	}
	if fs.NArg() > 0 {
		return fmt.Errorf("unexpected arguments: %q", fs.Args())
	}
	set := map[string]bool{}
	fs.Visit(func(f *flag.Flag) { set[f.Name] = true })
	var errs []error
	fs.VisitAll(func(f *flag.Flag) {
		env := Name(prefix, f.Name)
		if v := getenv(env); v != "" && !set[f.Name] {
			if err := fs.Set(f.Name, v); err != nil {
				errs = append(errs, fmt.Errorf("%s: %w", env, err))
			}
		}
	})
	return errors.Join(errs...)
}
