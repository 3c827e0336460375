package admission

import "net/netip"

// An IPv6 client key is a /64, but one site or tunnel routinely holds a
// /56 or a /48: 256 or 65,536 keys. So every per-address bound also holds
// for the wider prefixes a /64 belongs to, each a multiple of what one /64
// may hold: a /48 gets what 16 addresses would, not what 65,536 would.
// Over a prefix's bound a client gets the same answer as over its /64's.
var prefixScales = []struct{ bits, scale int }{
	{56, 4},
	{48, 16},
}

// group is one key a client counts toward, and the multiple of the
// per-address bounds it may hold.
type group struct {
	key   string
	scale int
}

// groupsOf is key itself (scale 1) and, for an IPv6 /64 key, the /56 and
// /48 prefixes holding it. Any other key (an IPv4 address, or a name a
// caller groups its clients by) is a group of its own.
func groupsOf(key string) []group {
	p, err := netip.ParsePrefix(key)
	if err != nil || !p.Addr().Is6() || p.Bits() != 64 {
		return []group{{key, 1}}
	}
	out := make([]group, 1, 1+len(prefixScales))
	out[0] = group{key, 1}
	for _, s := range prefixScales {
		wider, _ := p.Addr().Prefix(s.bits)
		out = append(out, group{wider.String(), s.scale})
	}
	return out
}
