// Command cni-lo is a CNI plugin that gives a Pod an address and no
// network: it takes an address from the IPAM plugin named in its
// configuration (host-local) and puts it, as a /32, on the Pod's own
// loopback interface. Inside the Pod only lo exists, so every connection
// that leaves the Pod fails at once with "network unreachable".
//
// It exists for the single-node test cluster of scripts/kube-up.sh: the
// kubelet keeps a node NotReady without a CNI configuration, containerd
// rejects a loopback-only one, and the dummy plugin needs a kernel module
// that the test machines lack. A real cluster uses its own network plugin.
//
// The address is set with nsenter(1) and ip(8) (util-linux and iproute2),
// which keeps this plugin free of netlink dependencies.
package main

import (
	"bytes"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"net/netip"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
)

// supported are the CNI specification versions this plugin speaks; the
// result format is the same for all of them.
var supported = []string{"1.0.0", "1.1.0"}

// netConf is the part of the network configuration this plugin reads.
type netConf struct {
	CNIVersion string `json:"cniVersion"`
	Name       string `json:"name"`
	IPAM       struct {
		Type string `json:"type"`
	} `json:"ipam"`
}

type ipConfig struct {
	Address   string `json:"address"`
	Interface *int   `json:"interface,omitempty"`
}

type iface struct {
	Name    string `json:"name"`
	Sandbox string `json:"sandbox,omitempty"`
}

// result is a CNI 1.x ADD result.
type result struct {
	CNIVersion string     `json:"cniVersion"`
	Interfaces []iface    `json:"interfaces,omitempty"`
	IPs        []ipConfig `json:"ips,omitempty"`
	DNS        struct{}   `json:"dns"`
}

// cniError is the error a plugin prints on stdout; code 999 means "other".
type cniError struct {
	CNIVersion string `json:"cniVersion"`
	Code       int    `json:"code"`
	Msg        string `json:"msg"`
	Details    string `json:"details,omitempty"`
}

func main() {
	if err := run(os.Getenv, os.Stdin, os.Stdout); err != nil {
		json.NewEncoder(os.Stdout).Encode(cniError{CNIVersion: supported[0], Code: 999, Msg: err.Error()})
		os.Exit(1)
	}
}

func run(getenv func(string) string, stdin io.Reader, stdout io.Writer) error {
	cmd := getenv("CNI_COMMAND")
	if cmd == "VERSION" {
		return json.NewEncoder(stdout).Encode(map[string]any{
			"cniVersion": supported[len(supported)-1], "supportedVersions": supported,
		})
	}
	raw, err := io.ReadAll(stdin)
	if err != nil {
		return fmt.Errorf("read configuration: %w", err)
	}
	var conf netConf
	if err := json.Unmarshal(raw, &conf); err != nil {
		return fmt.Errorf("parse configuration: %w", err)
	}
	if conf.IPAM.Type == "" {
		return errors.New("configuration has no ipam.type")
	}
	switch cmd {
	case "ADD":
		return add(getenv, raw, conf, stdout)
	case "DEL", "CHECK", "GC", "STATUS":
		// The address goes with the Pod's network namespace; what is left
		// to do (release, check, collect) is the IPAM plugin's.
		_, err := ipam(getenv, raw, conf.IPAM.Type)
		return err
	}
	return fmt.Errorf("unknown CNI_COMMAND %q", cmd)
}

func add(getenv func(string) string, raw []byte, conf netConf, stdout io.Writer) error {
	netns := getenv("CNI_NETNS")
	if netns == "" {
		return errors.New("CNI_NETNS is empty")
	}
	out, err := ipam(getenv, raw, conf.IPAM.Type)
	if err != nil {
		return err
	}
	addr, err := firstAddress(out)
	if err != nil {
		return err
	}
	host := netip.PrefixFrom(addr, addr.BitLen()).String()
	for _, args := range [][]string{
		{"link", "set", "lo", "up"},
		{"addr", "replace", host, "dev", "lo"},
	} {
		ip := exec.Command("nsenter", append([]string{"--net=" + netns, "ip"}, args...)...)
		if msg, err := ip.CombinedOutput(); err != nil {
			release(getenv, raw, conf.IPAM.Type)
			return fmt.Errorf("ip %s: %w: %s", strings.Join(args, " "), err, bytes.TrimSpace(msg))
		}
	}
	// The result names the interface the runtime asked for (CNI_IFNAME,
	// eth0): containerd takes the Pod's address from that interface's
	// entry and fails the sandbox without it, though the address is on lo.
	name := getenv("CNI_IFNAME")
	if name == "" {
		name = "lo"
	}
	zero := 0
	return json.NewEncoder(stdout).Encode(result{
		CNIVersion: conf.CNIVersion,
		Interfaces: []iface{{Name: name, Sandbox: netns}},
		IPs:        []ipConfig{{Address: host, Interface: &zero}},
	})
}

// release gives an address back after a failed ADD; the runtime will not
// call DEL for an ADD that failed.
func release(getenv func(string) string, raw []byte, ipamType string) {
	del := func(k string) string {
		if k == "CNI_COMMAND" {
			return "DEL"
		}
		return getenv(k)
	}
	ipam(del, raw, ipamType)
}

// firstAddress is the first address in an IPAM plugin's result.
func firstAddress(out []byte) (netip.Addr, error) {
	var r struct {
		IPs []ipConfig `json:"ips"`
	}
	if err := json.Unmarshal(out, &r); err != nil {
		return netip.Addr{}, fmt.Errorf("parse IPAM result: %w", err)
	}
	if len(r.IPs) == 0 {
		return netip.Addr{}, errors.New("IPAM result has no address")
	}
	p, err := netip.ParsePrefix(r.IPs[0].Address)
	if err != nil {
		return netip.Addr{}, fmt.Errorf("IPAM address: %w", err)
	}
	return p.Addr(), nil
}

// ipam runs the IPAM plugin with this plugin's environment and
// configuration, as the CNI specification describes delegation.
func ipam(getenv func(string) string, raw []byte, typ string) ([]byte, error) {
	if strings.ContainsRune(typ, '/') {
		return nil, fmt.Errorf("invalid ipam.type %q", typ)
	}
	var bin string
	for _, dir := range filepath.SplitList(getenv("CNI_PATH")) {
		if p := filepath.Join(dir, typ); isFile(p) {
			bin = p
			break
		}
	}
	if bin == "" {
		return nil, fmt.Errorf("IPAM plugin %q not found in CNI_PATH", typ)
	}
	cmd := exec.Command(bin)
	cmd.Stdin = bytes.NewReader(raw)
	cmd.Env = os.Environ()
	for _, k := range []string{"CNI_COMMAND", "CNI_CONTAINERID", "CNI_NETNS", "CNI_IFNAME", "CNI_ARGS", "CNI_PATH"} {
		cmd.Env = append(cmd.Env, k+"="+getenv(k))
	}
	var stdout bytes.Buffer
	cmd.Stdout = &stdout
	cmd.Stderr = os.Stderr
	if err := cmd.Run(); err != nil {
		var e cniError
		if json.Unmarshal(stdout.Bytes(), &e) == nil && e.Msg != "" {
			return nil, fmt.Errorf("IPAM %s: %s %s", typ, e.Msg, e.Details)
		}
		return nil, fmt.Errorf("IPAM %s: %w", typ, err)
	}
	return stdout.Bytes(), nil
}

func isFile(p string) bool {
	fi, err := os.Stat(p)
	return err == nil && fi.Mode().IsRegular()
}
