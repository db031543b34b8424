package libcontainer

import (
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"os"

	"github.com/huskrt/husk/libcontainer/configs"
)

// The parent and the container's init talk over one stream socket, one
// JSON object per line. The exchange is deliberately short:
//
//	parent → init   initConfig               (always)
//	init   → parent {"type":"pid"}           (only when nsenter forked)
//	init   → parent {"type":"hooks"}         (only if create-time hooks exist)
//	parent → init   {"type":"hooks-done"}
//	init   → parent {"type":"ready"}         (init waits on exec.fifo now)
//	init   → parent {"type":"error","msg"}   (instead of any of the above)
const (
	msgPid       = "pid"
	msgHooks     = "hooks"
	msgHooksDone = "hooks-done"
	msgReady     = "ready"
	msgError     = "error"
)

type syncMsg struct {
	Type string `json:"type"`
	Msg  string `json:"msg,omitempty"`
	Pid  int    `json:"pid,omitempty"`
	// Hook is set on an error from a createContainer hook.
	Hook bool `json:"hook,omitempty"`
}

// initConfig is everything init needs, sent as the first message.
type initConfig struct {
	ID     string          `json:"id"`
	Config *configs.Config `json:"config"`
	// PreservedFDs is how many fds starting at 3 pass to the workload.
	PreservedFDs int `json:"preservedFds"`
	// FifoFd is init's fd of exec.fifo (an O_PATH fd); SyncFd the socket.
	FifoFd int `json:"fifoFd"`
	// ConsoleFd is the console socket fd, or -1.
	ConsoleFd    int  `json:"consoleFd"`
	NoNewKeyring bool `json:"noNewKeyring"`
	// HasCreateHooks tells init to stop for the prestart/createRuntime
	// hooks and to run createContainer hooks itself.
	HasCreateHooks bool `json:"hasCreateHooks"`
	// State is the OCI state ("creating", with init's host pid) for the
	// hooks that init runs itself.
	State []byte `json:"state"`
}

type syncPipe struct {
	f   *os.File
	enc *json.Encoder
	dec *json.Decoder
}

func newSyncPipe(f *os.File) *syncPipe {
	return &syncPipe{f: f, enc: json.NewEncoder(f), dec: json.NewDecoder(f)}
}

func (p *syncPipe) send(v any) error {
	if err := p.enc.Encode(v); err != nil {
		return fmt.Errorf("sync: send: %w", err)
	}
	return nil
}

// recv reads the next message; io.EOF means the other side is gone.
func (p *syncPipe) recv(v any) error {
	err := p.dec.Decode(v)
	if errors.Is(err, io.EOF) || errors.Is(err, io.ErrUnexpectedEOF) {
		return io.EOF
	}
	if err != nil {
		return fmt.Errorf("sync: receive: %w", err)
	}
	return nil
}

func (p *syncPipe) close() error { return p.f.Close() }
