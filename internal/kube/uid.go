package kube

import (
	"fmt"
	"strconv"
	"strings"
)

// fixedUID is the numeric uid of a uid:gid user (Kubernetes takes numbers only).
func fixedUID(user string) (int64, error) {
	uid, _, _ := strings.Cut(user, ":")
	n, err := strconv.ParseInt(uid, 10, 64)
	if err != nil || n <= 0 {
		return 0, fmt.Errorf("-user %q: the kubernetes backend needs a numeric uid other than 0", user)
	}
	return n, nil
}
