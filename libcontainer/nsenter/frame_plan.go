package nsenter

import (
	"encoding/binary"
	"errors"
	"fmt"
	"math"
	"os"
)

// Bits of the flags word of a FrameExec (PLAN_* in init.h).
const (
	planHasProcess uint32 = 1 << iota
	planNoNewPrivileges
	planJoinSessionKeyring
	planUmaskSet
	planHasConsole
)

// CapSets holds capability sets as bit masks: bit n is capability n.
// Capabilities above ExecPlan.LastCap are ignored.
type CapSets struct {
	Bounding, Effective, Permitted, Inheritable, Ambient uint64
}

// Rlimit is one setrlimit(2) call: Type is the RLIMIT_* resource.
type Rlimit struct {
	Type       int
	Soft, Hard uint64
}

// ExecPlan is everything the container init needs for its last steps,
// once the parent has prepared the rootfs. Init carries it out in this
// order: enter Root, join the session keyring, rlimits, console,
// credentials and capabilities, umask, Cwd, look up Args[0],
// NoNewPrivileges, close-on-exec above the preserved fds; then it answers
// and waits for `husk start` on Fifo. Without HasProcess the steps that
// only shape the workload (rlimits to NoNewPrivileges) are skipped, as the
// Go init did, and start fails with "process: not set in config.json".
type ExecPlan struct {
	// Root is the container's root directory; init chroots into it.
	Root *os.File
	// Fifo is exec.fifo (O_PATH is enough); init reopens it for writing.
	Fifo *os.File
	// Console is the pty peer to become stdio and the controlling
	// terminal; nil for no terminal.
	Console *os.File

	HasProcess, NoNewPrivileges bool
	// SessionKeyring is the name of the session keyring to join; "" keeps
	// the caller's.
	SessionKeyring string
	UID, GID       uint32
	AdditionalGids []uint32
	// Umask nil means 022.
	Umask *uint32
	Caps  CapSets
	// LastCap is the running kernel's highest capability number (0..63).
	LastCap int
	Rlimits []Rlimit
	Cwd     string
	// Args[0] is looked up in the PATH of Env unless it contains a "/".
	Args, Env []string
	// PreservedFDs is how many fds from 3 up the workload inherits.
	PreservedFDs int
}

// Exec sends the plan and waits for init's answer: nil means init has done
// every step and is waiting on the fifo. A failed step is *InitError (init
// has exited); EOF is io.EOF.
func (c *Conn) Exec(p *ExecPlan) error {
	payload, files, err := p.encode()
	if err != nil {
		return err
	}
	if err := c.WaitStarted(); err != nil {
		return err
	}
	if err := c.send(FrameExec, payload, files...); err != nil {
		return err
	}
	return c.recvOK()
}

// encode lays the plan out as doc.go describes and returns the fds to send.
func (p *ExecPlan) encode() ([]byte, []*os.File, error) {
	if p.Root == nil || p.Fifo == nil {
		return nil, nil, errors.New("nsenter: exec plan: Root and Fifo are required")
	}
	if p.HasProcess && len(p.Args) == 0 {
		return nil, nil, errors.New("nsenter: exec plan: a process needs Args")
	}
	if p.LastCap < 0 || p.LastCap > 63 {
		return nil, nil, fmt.Errorf("nsenter: exec plan: last capability %d is not in 0..63", p.LastCap)
	}
	if p.PreservedFDs < 0 || p.PreservedFDs > math.MaxInt32 {
		return nil, nil, fmt.Errorf("nsenter: exec plan: %d preserved fds", p.PreservedFDs)
	}
	var flags, umask uint32
	files := []*os.File{p.Root, p.Fifo}
	for _, f := range []struct {
		set bool
		bit uint32
	}{
		{p.HasProcess, planHasProcess},
		{p.NoNewPrivileges, planNoNewPrivileges},
		{p.SessionKeyring != "", planJoinSessionKeyring},
		{p.Umask != nil, planUmaskSet},
		{p.Console != nil, planHasConsole},
	} {
		if f.set {
			flags |= f.bit
		}
	}
	if p.Umask != nil {
		umask = *p.Umask
	}
	if p.Console != nil {
		files = append(files, p.Console)
	}

	ne := binary.NativeEndian
	b := make([]byte, 0, 512)
	for _, v := range []uint32{
		flags, p.UID, p.GID, umask, uint32(p.LastCap), uint32(p.PreservedFDs),
		uint32(len(p.AdditionalGids)), uint32(len(p.Rlimits)), uint32(len(p.Args)), uint32(len(p.Env)),
	} {
		b = ne.AppendUint32(b, v)
	}
	for _, set := range []uint64{p.Caps.Bounding, p.Caps.Effective, p.Caps.Permitted, p.Caps.Inheritable, p.Caps.Ambient} {
		b = ne.AppendUint64(b, set)
	}
	for _, g := range p.AdditionalGids {
		b = ne.AppendUint32(b, g)
	}
	for _, l := range p.Rlimits {
		if l.Type < 0 || l.Type > math.MaxInt32 {
			return nil, nil, fmt.Errorf("nsenter: exec plan: rlimit type %d", l.Type)
		}
		b = ne.AppendUint32(b, uint32(l.Type))
		b = ne.AppendUint32(b, 0) // padding of the wire struct
		b = ne.AppendUint64(b, l.Soft)
		b = ne.AppendUint64(b, l.Hard)
	}
	strs := append(append([]string{p.SessionKeyring, p.Cwd}, p.Args...), p.Env...)
	for _, s := range strs {
		var err error
		if b, err = appendString(b, s); err != nil {
			return nil, nil, fmt.Errorf("nsenter: exec plan: %w", err)
		}
	}
	if len(b) > maxFramePayload {
		return nil, nil, fmt.Errorf("nsenter: exec plan of %d bytes is over the limit of %d", len(b), maxFramePayload)
	}
	return b, files, nil
}
