package kube

import (
	"strconv"
	"strings"

	corev1 "k8s.io/api/core/v1"
	"k8s.io/apimachinery/pkg/api/resource"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
)

// Seccomp profiles the nodes hold, relative to the kubelet's seccomp
// folder (deploy/kubernetes/seccomp): the Docker backend's profiles. The
// gVisor one allows clone3, which RuntimeDefault answers with an error that
// gVisor turns into EPERM, so the BEAM could not start a thread.
const (
	seccompRunc   = "iexbox/runc.json"
	seccompGVisor = "iexbox/gvisor.json"
)

// apartContainer is the Pod's second container: it runs as the sandbox's
// second uid and only waits, so that programs run apart (exercise checks)
// can be executed in it. pods/exec cannot change uid, and nothing in an
// unprivileged Pod can switch to another; a second container can have its
// own. It shares /tmp with the terminal's container.
const apartContainer = "apart"

// apartInit is the apart container's first process. Processes a killed
// check leaves are adopted by it, and their zombies count against the
// uid's process limit until it reaps them: `sleep` never does, so after
// two checks no check BEAM could start. bash reaps adopted children; it
// blocks on a fifo it alone holds (so it is the uid's only resident
// process), else it falls back to sleeping.
const apartInit = `f=/tmp/.apart-init.$$; if mkfifo "$f" && exec 3<>"$f"; then rm -f "$f"; while :; do read -r _ <&3; done; fi; exec sleep infinity`

// apartRequest is what the sleeping apart container asks of a node.
const apartRequest = 8 << 20

// The apart container's share of the sandbox's budget where the cluster
// has no Pod-level resources: at most apartMemoryShare of the memory (and
// half of it), and half the CPU. The terminal's container gets the rest,
// so the Pod as a whole holds -memory and -cpus, as on Docker, never
// twice that.
const apartMemoryShare = 96 << 20

// cpuRequestMilli is what an idle sandbox asks of a node's CPU, in
// millicores: small, so a node packs idle learners; the limit is the
// policy's. The sleeping apart container asks apartCPURequestMilli.
const (
	cpuRequestMilli      = 10
	apartCPURequestMilli = 1
)

// goSignal is what the server types once it is attached: the Pod's shell
// waits for it before it starts the program, because Kubernetes attaches
// only to a running container and would lose the program's banner.
const goSignal = "\n"

// isolation is how Pods are isolated, as Open found the cluster.
type isolation struct {
	runtimeClass string // "" for the node's default runtime (runc)
	seccomp      string // a Localhost profile, "" for RuntimeDefault
	// podResources: the API server keeps Pod-level resources (spec.resources,
	// the PodLevelResources feature), so both containers share one budget;
	// else each container gets its share.
	podResources bool
}

// resources are a sandbox Pod's requests and limits: the Pod's (nil
// without Pod-level resources), the terminal container's and the apart
// one's. Either way the Pod as a whole is limited to -memory and -cpus.
func (c Config) resources(iso isolation) (pod *corev1.ResourceRequirements, term, apart corev1.ResourceRequirements) {
	mem := func(n int64) resource.Quantity { return *resource.NewQuantity(n, resource.BinarySI) }
	milli := func(n int64) resource.Quantity { return *resource.NewMilliQuantity(n, resource.DecimalSI) }
	list := func(cpu, memory resource.Quantity) corev1.ResourceList {
		return corev1.ResourceList{corev1.ResourceCPU: cpu, corev1.ResourceMemory: memory}
	}
	request := min(iso.footprint(), c.Memory)
	cpu := int64(c.CPUs * 1000)
	if iso.podResources {
		return &corev1.ResourceRequirements{
			Requests: list(milli(cpuRequestMilli+apartCPURequestMilli), mem(request+apartRequest)),
			Limits:   list(milli(cpu), mem(c.Memory)),
		}, corev1.ResourceRequirements{}, corev1.ResourceRequirements{}
	}
	apartMem := min(apartMemoryShare, c.Memory/2)
	apartCPU := max(cpu/2, 1)
	term = corev1.ResourceRequirements{
		Requests: list(milli(cpuRequestMilli), mem(min(request, c.Memory-apartMem))),
		Limits:   list(milli(cpu-apartCPU), mem(c.Memory-apartMem)),
	}
	apart = corev1.ResourceRequirements{
		Requests: list(milli(apartCPURequestMilli), mem(min(apartRequest, apartMem))),
		Limits:   list(milli(apartCPU), mem(apartMem)),
	}
	return nil, term, apart
}

// footprint is what one idle sandbox costs a node under iso.
func (iso isolation) footprint() int64 {
	if iso.runtimeClass != "" {
		return footprintGVisor
	}
	return footprintRunc
}

// pod is the Pod of one sandbox under iso: the whole hardening in one
// place. uid is the terminal's uid (the Pod's).
func (c Config) pod(iso isolation, sessionID string, uid int64, cols, rows int) *corev1.Pod {
	no, yes := false, true
	var grace int64
	apartUID := uid + 1
	seccomp := &corev1.SeccompProfile{Type: corev1.SeccompProfileTypeRuntimeDefault}
	if iso.seccomp != "" {
		profile := iso.seccomp
		seccomp = &corev1.SeccompProfile{Type: corev1.SeccompProfileTypeLocalhost, LocalhostProfile: &profile}
	}
	var runtimeClass *string
	if iso.runtimeClass != "" {
		rc := iso.runtimeClass
		runtimeClass = &rc
	}
	podResources, termResources, apartResources := c.resources(iso)
	tmpfs := resource.NewQuantity(c.TmpfsSize, resource.BinarySI)
	shm := resource.NewQuantity(c.ShmSize, resource.BinarySI)
	memoryDir := func(name string, size *resource.Quantity) corev1.Volume {
		return corev1.Volume{Name: name, VolumeSource: corev1.VolumeSource{
			EmptyDir: &corev1.EmptyDirVolumeSource{Medium: corev1.StorageMediumMemory, SizeLimit: size},
		}}
	}
	return &corev1.Pod{
		ObjectMeta: metav1.ObjectMeta{
			Name: "iexbox-" + sessionID,
			Labels: map[string]string{
				LabelInstance: c.Instance,
				LabelSession:  sessionID,
			},
		},
		Spec: corev1.PodSpec{
			RestartPolicy:                 corev1.RestartPolicyNever,
			TerminationGracePeriodSeconds: &grace,
			AutomountServiceAccountToken:  &no,
			EnableServiceLinks:            &no,
			HostNetwork:                   false,
			HostPID:                       false,
			HostIPC:                       false,
			Hostname:                      "iexbox",
			// No resolver: nothing answers on the sandbox's own loopback.
			DNSPolicy:        corev1.DNSNone,
			DNSConfig:        &corev1.PodDNSConfig{Nameservers: []string{"127.0.0.1"}},
			RuntimeClassName: runtimeClass,
			NodeSelector:     c.NodeSelector,
			Resources:        podResources,
			SecurityContext: &corev1.PodSecurityContext{
				RunAsNonRoot:   &yes,
				RunAsUser:      &uid,
				RunAsGroup:     &uid,
				FSGroup:        &uid,
				SeccompProfile: seccomp,
			},
			Containers: []corev1.Container{{
				Name:            containerName,
				Image:           c.Image,
				ImagePullPolicy: corev1.PullIfNotPresent,
				Command:         c.command(cols, rows),
				Env:             envVars(c.Env()),
				WorkingDir:      c.Home,
				Stdin:           true,
				StdinOnce:       false,
				TTY:             true,
				SecurityContext: hardened(uid, c.WritableRoot, seccomp),
				Resources:       termResources,
				VolumeMounts: []corev1.VolumeMount{
					{Name: "tmp", MountPath: "/tmp"},
					{Name: "home", MountPath: c.Home},
					{Name: "shm", MountPath: "/dev/shm"},
				},
				TerminationMessagePolicy: corev1.TerminationMessageReadFile,
			}, {
				Name:                     apartContainer,
				Image:                    c.Image,
				ImagePullPolicy:          corev1.PullIfNotPresent,
				Command:                  []string{"/bin/bash", "-c", unsetKubernetesEnv + apartInit},
				WorkingDir:               "/tmp",
				SecurityContext:          hardened(apartUID, c.WritableRoot, seccomp),
				Resources:                apartResources,
				VolumeMounts:             []corev1.VolumeMount{{Name: "tmp", MountPath: "/tmp"}},
				TerminationMessagePolicy: corev1.TerminationMessageReadFile,
			}},
			Volumes: []corev1.Volume{
				memoryDir("tmp", tmpfs),
				memoryDir("home", tmpfs),
				memoryDir("shm", shm),
			},
		},
	}
}

// unsetKubernetesEnv drops the variables the kubelet gives every container
// whatever enableServiceLinks says (KUBERNETES_SERVICE_HOST, ...): the
// program has no business knowing where the API server is.
const unsetKubernetesEnv = `for v in $(env | sed -n 's/^\(KUBERNETES_[A-Za-z0-9_]*\)=.*/\1/p'); do unset "$v"; done; `

// command is the Pod's program: a shell that drops the kubelet's
// variables, sets what a Pod has no field for (the open-file and process
// limits, the first terminal size), waits for the server's go signal
// without echoing it, and becomes the program.
// RLIMIT_NPROC counts the processes and threads of the sandbox's uid,
// which no other sandbox shares.
func (c Config) command(cols, rows int) []string {
	script := unsetKubernetesEnv +
		"ulimit -n " + strconv.FormatInt(c.NoFile, 10) +
		" && ulimit -p " + strconv.FormatInt(c.Pids, 10) +
		" && stty -echo cols " + strconv.Itoa(cols) + " rows " + strconv.Itoa(rows) +
		" && read -r _ && stty echo && exec \"$@\""
	return append([]string{"/bin/sh", "-c", script, "sh"}, c.Cmd...)
}

func envVars(env []string) []corev1.EnvVar {
	out := make([]corev1.EnvVar, 0, len(env))
	for _, kv := range env {
		k, v, _ := strings.Cut(kv, "=")
		out = append(out, corev1.EnvVar{Name: k, Value: v})
	}
	return out
}

func boolPtr(b bool) *bool { return &b }

// hardened is the security context of both of a sandbox Pod's containers,
// running as uid: non-root, no privilege and no way to gain one, no
// capabilities, a read-only root unless asked, and the seccomp profile.
func hardened(uid int64, writableRoot bool, seccomp *corev1.SeccompProfile) *corev1.SecurityContext {
	yes, no := true, false
	return &corev1.SecurityContext{
		RunAsNonRoot:             &yes,
		RunAsUser:                &uid,
		RunAsGroup:               &uid,
		AllowPrivilegeEscalation: &no,
		Privileged:               &no,
		ReadOnlyRootFilesystem:   boolPtr(!writableRoot),
		Capabilities:             &corev1.Capabilities{Drop: []corev1.Capability{"ALL"}},
		SeccompProfile:           seccomp,
	}
}
