package redisstore_test

import (
	"context"
	"encoding/base64"
	"encoding/json"
	"fmt"
	"net"
	"net/http"
	"os"
	"os/exec"
	"path/filepath"
	"slices"
	"strconv"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/jwtguard/jwtguard"
	"github.com/jwtguard/jwtguard/redisstore"
	"github.com/redis/go-redis/v9"
	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"
)

// The tests of this file run the store on a real Redis Cluster of three
// masters: three redis-server processes started here and shared (or the
// cluster REDIS_CLUSTER_ADDRS names), every instance on a ClusterClient of
// its own, as separate processes would be. The two tests that break or
// change a cluster start one of their own.

// clusterMasters is how many masters the cluster started here has.
const clusterMasters = 3

// clusterSlots is the number of hash slots of a Redis Cluster.
const clusterSlots = 16384

// clusterStartWithin bounds forming the cluster: from the first CLUSTER
// ADDSLOTSRANGE until every node says cluster_state:ok and a ClusterClient
// reaches every master.
// It is a guard against a hang, not a measure: forming a cluster on a busy
// machine takes seconds.
const clusterStartWithin = hangGuard

// clusterEnforceWithin is how long the cluster tests wait for a
// revocation to reach another instance: the default staleness bound, the
// promise the store makes. Each test logs the delays it saw, which are
// normally milliseconds.
const clusterEnforceWithin = redisstore.DefaultStalenessBound

// sharedCluster is the Redis Cluster the cluster tests share: set up by the
// first needCluster, stopped by TestMain (stopSharedCluster).
var sharedCluster struct {
	once  sync.Once
	addrs []string // seed addresses, one per node
	skip  string   // set: there is no cluster, and this says why
	err   error    // set: the cluster could not be had
	stop  func()   // stops the processes started here; nil for an external cluster
}

// needCluster returns the addresses of the shared Redis Cluster, setting
// it up at the first call: the cluster of REDIS_CLUSTER_ADDRS
// (comma-separated) when set, else three redis-server processes of its
// own, whether or not REDIS_ADDR is set. It skips t loudly when neither is
// possible, and fails t when the cluster could not be formed.
func needCluster(t testing.TB) []string {
	t.Helper()
	sharedCluster.once.Do(func() {
		start := time.Now()
		setUpSharedCluster()
		if sharedCluster.err == nil && sharedCluster.skip == "" {
			t.Logf("Redis Cluster at %q ready after %v", sharedCluster.addrs, time.Since(start).Round(time.Millisecond))
		}
	})
	if sharedCluster.skip != "" {
		t.Skip("!!! SKIPPED, no Redis Cluster: " + sharedCluster.skip)
	}
	require.NoError(t, sharedCluster.err, "setting up the Redis Cluster")
	return sharedCluster.addrs
}

// setUpSharedCluster fills sharedCluster; needCluster calls it once.
func setUpSharedCluster() {
	ctx, cancel := context.WithTimeout(context.Background(), clusterStartWithin)
	defer cancel()
	if env := os.Getenv("REDIS_CLUSTER_ADDRS"); env != "" {
		for a := range strings.SplitSeq(env, ",") {
			if a = strings.TrimSpace(a); a != "" {
				sharedCluster.addrs = append(sharedCluster.addrs, a)
			}
		}
		sharedCluster.err = waitCluster(ctx, sharedCluster.addrs, 0)
		if sharedCluster.err != nil {
			sharedCluster.err = fmt.Errorf("REDIS_CLUSTER_ADDRS=%s: %w", env, sharedCluster.err)
		}
		return
	}
	if _, err := exec.LookPath("redis-server"); err != nil {
		sharedCluster.skip = "redis-server is not on PATH and REDIS_CLUSTER_ADDRS is not set: " +
			"install redis-server (./test.sh does it as root, unless REDIS_ADDR is set) " +
			"or point REDIS_CLUSTER_ADDRS at a cluster of at least three masters"
		fmt.Fprintln(os.Stderr, "!!! redisstore: SKIPPING every Redis Cluster test:", sharedCluster.skip)
		return
	}
	sharedCluster.addrs, sharedCluster.stop, sharedCluster.err = startCluster(ctx, clusterMasters, nil)
}

// stopSharedCluster stops the cluster processes needCluster started, if
// any, and removes their files.
func stopSharedCluster() {
	if sharedCluster.stop != nil {
		sharedCluster.stop()
	}
}

// startCluster starts n redis-server processes in cluster mode on loopback,
// each with its files in a directory of its own under one temporary
// directory, and forms a cluster of n masters of them. It returns their
// addresses and a function that stops them all and removes the files.
//
// busVia, when not nil, is called with each node's cluster bus address and
// returns the port the other nodes must reach that bus on instead (a
// proxy's): the node announces it, so that every message other nodes send
// it over the bus goes through there.
func startCluster(ctx context.Context, n int, busVia func(busAddr string) (int, error)) ([]string, func(), error) {
	dir, err := os.MkdirTemp("", "redisstore-cluster-")
	if err != nil {
		return nil, nil, err
	}
	var nodes []*redisServer
	stop := func() {
		for _, srv := range nodes {
			srv.stop()
		}
		_ = os.RemoveAll(dir)
	}
	addrs, err := startClusterNodes(ctx, dir, n, busVia, &nodes)
	if err != nil {
		stop()
		return nil, nil, err
	}
	return addrs, stop, nil
}

// startClusterNodes is startCluster's work: it appends every server it
// started to nodes, so that the caller can stop them on failure.
func startClusterNodes(ctx context.Context, dir string, n int, busVia func(string) (int, error), nodes *[]*redisServer) ([]string, error) {
	var addrs []string
	var bus []int
	for i := range n {
		srv, busPort, err := startClusterNode(filepath.Join(dir, "node"+strconv.Itoa(i)), busVia)
		if err != nil {
			return nil, fmt.Errorf("cluster node %d: %w", i, err)
		}
		*nodes = append(*nodes, srv)
		addrs = append(addrs, srv.addr)
		bus = append(bus, busPort)
	}
	if err := formCluster(ctx, addrs, bus); err != nil {
		return nil, err
	}
	return addrs, nil
}

// startClusterNode starts one redis-server in cluster mode, in no cluster
// yet, with its files in dir (which it makes), and returns it and the port
// other nodes reach its bus on (busVia's, when not nil: see startCluster).
func startClusterNode(dir string, busVia func(string) (int, error)) (*redisServer, int, error) {
	if err := os.Mkdir(dir, 0o700); err != nil {
		return nil, 0, err
	}
	// A client port and a cluster bus port, distinct: the default bus
	// port (client port + 10000) may be taken or over 65535.
	ports, err := freePorts(2)
	if err != nil {
		return nil, 0, err
	}
	busPort := ports[1]
	args := []string{"--cluster-enabled", "yes",
		"--cluster-config-file", filepath.Join(dir, "nodes.conf"),
		"--cluster-node-timeout", "2000",
		"--cluster-port", strconv.Itoa(busPort)}
	if busVia != nil {
		via, err := busVia(net.JoinHostPort("127.0.0.1", strconv.Itoa(busPort)))
		if err != nil {
			return nil, 0, err
		}
		busPort = via
		args = append(args, "--cluster-announce-bus-port", strconv.Itoa(via))
	}
	srv, err := startRedis(dir, ports[0], false, args...)
	if err != nil {
		return nil, 0, err
	}
	return srv, busPort, nil
}

// formCluster makes one cluster of the fresh cluster-mode nodes at addrs
// (whose bus ports are bus), with go-redis commands: each node takes an
// equal range of slots (CLUSTER ADDSLOTSRANGE), the first meets the others
// (CLUSTER MEET), and it waits until the cluster works (waitCluster).
func formCluster(ctx context.Context, addrs []string, bus []int) error {
	n := len(addrs)
	clients := make([]*redis.Client, n)
	for i, a := range addrs {
		clients[i] = redis.NewClient(&redis.Options{Addr: a})
		defer clients[i].Close()
	}
	for i, c := range clients {
		lo, hi := i*clusterSlots/n, (i+1)*clusterSlots/n-1
		if err := c.Do(ctx, "cluster", "addslotsrange", lo, hi).Err(); err != nil {
			return fmt.Errorf("%s: CLUSTER ADDSLOTSRANGE %d %d: %w", addrs[i], lo, hi, err)
		}
	}
	for i := 1; i < n; i++ {
		host, port, err := net.SplitHostPort(addrs[i])
		if err != nil {
			return err
		}
		if err := clients[0].Do(ctx, "cluster", "meet", host, port, bus[i]).Err(); err != nil {
			return fmt.Errorf("%s: CLUSTER MEET %s: %w", addrs[0], addrs[i], err)
		}
	}
	return waitCluster(ctx, addrs, n)
}

// waitCluster polls until clusterReady holds or ctx is done; it returns
// the last reason it did not hold.
func waitCluster(ctx context.Context, addrs []string, masters int) error {
	start := time.Now()
	for {
		err := clusterReady(ctx, addrs, masters)
		if err == nil {
			return nil
		}
		select {
		case <-ctx.Done():
			return fmt.Errorf("cluster not ready after %v: %w", time.Since(start).Round(time.Millisecond), err)
		case <-time.After(50 * time.Millisecond):
		}
	}
}

// clusterReady reports why the cluster of addrs does not work yet, or nil:
// every node at addrs says cluster_state:ok, CLUSTER SHARDS names masters
// (exactly masters of them, or at least three when masters is 0), and a
// ClusterClient can SET a key in a slot of every master and read it back
// from that master directly.
func clusterReady(ctx context.Context, addrs []string, masters int) error {
	for _, a := range addrs {
		c := redis.NewClient(&redis.Options{Addr: a, MaxRetries: -1})
		info, err := c.ClusterInfo(ctx).Result()
		_ = c.Close()
		if err != nil {
			return fmt.Errorf("%s: CLUSTER INFO: %w", a, err)
		}
		if !strings.Contains(info, "cluster_state:ok") {
			return fmt.Errorf("%s: cluster_state is not ok", a)
		}
	}
	cc := redis.NewClusterClient(&redis.ClusterOptions{Addrs: slices.Clone(addrs)})
	defer cc.Close()
	l, err := loadLayout(ctx, cc)
	if err != nil {
		return err
	}
	got := l.masters()
	switch {
	case masters > 0 && len(got) != masters:
		return fmt.Errorf("CLUSTER SHARDS names %d masters %q, want %d", len(got), got, masters)
	case masters == 0 && len(got) < 3:
		return fmt.Errorf("CLUSTER SHARDS names %d masters %q, the tests need at least 3", len(got), got)
	}
	probes, err := keysOnEveryMaster(ctx, cc, l, func(id string) string { return "redisstore-cluster-probe:" + id })
	if err != nil {
		return err
	}
	for master, key := range probes {
		if err := cc.Set(ctx, key, master, time.Minute).Err(); err != nil {
			return fmt.Errorf("SET %s through the ClusterClient: %w", key, err)
		}
		c := redis.NewClient(&redis.Options{Addr: master, MaxRetries: -1})
		got, err := c.Get(ctx, key).Result()
		_ = c.Close()
		if err != nil || got != master {
			return fmt.Errorf("GET %s on %s: %q, %v", key, master, got, err)
		}
	}
	return nil
}

// clusterLayout is which master serves which slots, as CLUSTER SHARDS
// said.
type clusterLayout struct {
	shards []redis.ClusterShard
}

// loadLayout asks the cluster of c for its layout (CLUSTER SHARDS).
func loadLayout(ctx context.Context, c *redis.ClusterClient) (clusterLayout, error) {
	shards, err := c.ClusterShards(ctx).Result()
	if err != nil {
		return clusterLayout{}, fmt.Errorf("CLUSTER SHARDS: %w", err)
	}
	return clusterLayout{shards: shards}, nil
}

// shardMaster returns the address of sh's master, or "" if it has none.
func shardMaster(sh redis.ClusterShard) string {
	for _, n := range sh.Nodes {
		if n.Role == "master" {
			host := n.IP
			if host == "" {
				host = n.Endpoint
			}
			return net.JoinHostPort(host, strconv.FormatInt(n.Port, 10))
		}
	}
	return ""
}

// master returns the address of the master that serves slot, or "".
func (l clusterLayout) master(slot int64) string {
	for _, sh := range l.shards {
		for _, r := range sh.Slots {
			if r.Start <= slot && slot <= r.End {
				return shardMaster(sh)
			}
		}
	}
	return ""
}

// masters returns the addresses of the masters that serve slots, sorted.
func (l clusterLayout) masters() []string {
	var out []string
	for _, sh := range l.shards {
		if m := shardMaster(sh); len(sh.Slots) > 0 && m != "" && !slices.Contains(out, m) {
			out = append(out, m)
		}
	}
	slices.Sort(out)
	return out
}

// keysOnEveryMaster finds, for every master of l, an identifier whose key
// lands in a slot that master serves (asking CLUSTER KEYSLOT), and returns
// the key per master address. key names the key of an identifier.
func keysOnEveryMaster(ctx context.Context, c *redis.ClusterClient, l clusterLayout, key func(id string) string) (map[string]string, error) {
	ids, err := idsOnEveryMaster(ctx, c, l, key)
	if err != nil {
		return nil, err
	}
	out := make(map[string]string, len(ids))
	for m, id := range ids {
		out[m] = key(id)
	}
	return out, nil
}

// idsOnEveryMaster finds, for every master of l, an identifier ("c<n>")
// whose key lands in a slot that master serves (asking CLUSTER KEYSLOT),
// and returns the identifier per master address.
func idsOnEveryMaster(ctx context.Context, c *redis.ClusterClient, l clusterLayout, key func(id string) string) (map[string]string, error) {
	masters := l.masters()
	out := make(map[string]string, len(masters))
	for i := 0; len(out) < len(masters); i++ {
		if i == 10000 {
			return nil, fmt.Errorf("no key on every master after %d tries: %q", i, out)
		}
		id := "c" + strconv.Itoa(i)
		slot, err := c.ClusterKeySlot(ctx, key(id)).Result()
		if err != nil {
			return nil, fmt.Errorf("CLUSTER KEYSLOT: %w", err)
		}
		if m := l.master(slot); m != "" && out[m] == "" {
			out[m] = id
		}
	}
	return out, nil
}

// clusterOptions are the options of the tests' ClusterClients. Each gets a
// copy of addrs: go-redis keeps the slice it is given and appends the
// nodes it discovers to it, so clients given one slice race on it.
func clusterOptions(addrs []string) *redis.ClusterOptions {
	// A connection per concurrent refresh, no pool wait.
	return &redis.ClusterOptions{Addrs: slices.Clone(addrs), PoolSize: 100}
}

// newClusterClient returns a ClusterClient of the cluster at addrs, closed
// with t.
func newClusterClient(t testing.TB, addrs []string) *redis.ClusterClient {
	t.Helper()
	c := redis.NewClusterClient(clusterOptions(addrs))
	t.Cleanup(func() { _ = c.Close() })
	return c
}

// newNodeClient returns a client of the one node at addr, closed with t:
// a command on a key of a slot that node does not serve fails (MOVED).
func newNodeClient(t testing.TB, addr string) *redis.Client {
	t.Helper()
	c := redis.NewClient(&redis.Options{Addr: addr})
	t.Cleanup(func() { _ = c.Close() })
	return c
}

// layoutOf returns the cluster's slot layout and its masters (sorted),
// requiring at least three.
func layoutOf(t testing.TB, c *redis.ClusterClient) (clusterLayout, []string) {
	t.Helper()
	l, err := loadLayout(context.Background(), c)
	require.NoError(t, err)
	masters := l.masters()
	require.GreaterOrEqual(t, len(masters), 3, "masters: %q", masters)
	return l, masters
}

// requireIDsOnEveryMaster is idsOnEveryMaster for a test.
func requireIDsOnEveryMaster(t testing.TB, c *redis.ClusterClient, l clusterLayout, key func(id string) string) map[string]string {
	t.Helper()
	ids, err := idsOnEveryMaster(context.Background(), c, l, key)
	require.NoError(t, err)
	return ids
}

// tokenKey and familyKey name the keys the store writes for a revoked
// token and a revoked family (see keys.go), and usedKey the one of a used
// refresh token.
func tokenKey(prefix, iss, jti string) string {
	return prefix + "jti:" + redisstore.Escape(iss) + ":" + redisstore.Escape(jti)
}

func familyKey(prefix, iss, fid string) string {
	return prefix + "fam:{" + redisstore.Escape(iss) + ":" + redisstore.Escape(fid) + "}"
}

func usedKey(prefix, iss, fid, jti string) string {
	return prefix + "used:{" + redisstore.Escape(iss) + ":" + redisstore.Escape(fid) + "}:" + redisstore.Escape(jti)
}

// claimIDs returns the jti and fid claims of a token the test issuer
// minted (its signature is not checked).
func claimIDs(t testing.TB, token string) (jti, fid string) {
	t.Helper()
	parts := strings.Split(token, ".")
	require.Len(t, parts, 3)
	payload, err := base64.RawURLEncoding.DecodeString(parts[1])
	require.NoError(t, err)
	var c struct {
		JTI string `json:"jti"`
		FID string `json:"fid"`
	}
	require.NoError(t, json.Unmarshal(payload, &c))
	require.NotEmpty(t, c.JTI)
	require.NotEmpty(t, c.FID)
	return c.JTI, c.FID
}

// pairsOnEveryMaster issues pairs until, for every master of l, one has the
// key that key(pair) names in a slot that master serves, and returns that
// pair per master address.
func pairsOnEveryMaster(t testing.TB, c *redis.ClusterClient, l clusterLayout, issuer *jwtguard.Issuer, key func(*jwtguard.TokenPair) string) map[string]*jwtguard.TokenPair {
	t.Helper()
	masters := l.masters()
	out := make(map[string]*jwtguard.TokenPair, len(masters))
	for i := 0; len(out) < len(masters); i++ {
		require.Less(t, i, 10000, "no pair on every master")
		pair, err := issuer.Issue(context.Background(), "user-"+strconv.Itoa(i), nil)
		require.NoError(t, err)
		slot, err := c.ClusterKeySlot(context.Background(), key(pair)).Result()
		require.NoError(t, err)
		if m := l.master(slot); m != "" && out[m] == nil {
			out[m] = pair
		}
	}
	return out
}

// instancesOnCluster starts three instances of f (its issuer: a new one
// when nil) on the shared cluster under prefix, each with a ClusterClient
// of its own, and picks a token pair of f's issuer for every master such
// that the key that key names lands there. It returns the instances, the
// masters and the pairs by master.
func instancesOnCluster(t testing.TB, prefix string, f fleet, key func(*jwtguard.TokenPair) string, opts ...redisstore.Option) ([]*instance, []string, map[string]*jwtguard.TokenPair) {
	t.Helper()
	addrs := needCluster(t)
	if f.issuer == nil {
		f.issuer = newIssuer(t)
	}
	dial := func() redis.UniversalClient { return redis.NewClusterClient(clusterOptions(addrs)) }
	ins := newInstancesWith(t, dial, prefix, 3, f, opts...)
	c := newClusterClient(t, addrs)
	l, masters := layoutOf(t, c)
	return ins, masters, pairsOnEveryMaster(t, c, l, f.issuer, key)
}

// requireKeyOn requires that key exists on the master at addr itself (so
// that it lives in a slot that master serves).
func requireKeyOn(t testing.TB, addr, key string) {
	t.Helper()
	n, err := newNodeClient(t, addr).Exists(context.Background(), key).Result()
	require.NoError(t, err, "EXISTS %s on %s", key, addr)
	require.Equal(t, int64(1), n, "%s on %s", key, addr)
}

// requireSubscribers requires that the master at addr has n subscribers of
// its own to the channel of prefix (PUBSUB NUMSUB counts the node's).
func requireSubscribers(t testing.TB, addr, prefix string, n int) {
	t.Helper()
	channel := prefix + "events"
	subs, err := newNodeClient(t, addr).PubSubNumSub(context.Background(), channel).Result()
	require.NoError(t, err)
	require.Equal(t, int64(n), subs[channel], "subscribers on %s", addr)
}

// waitRevoked polls check until it reports true, and returns how long that
// took. An error (a mirror gone stale on a starved machine) counts as not
// yet. A check started more than bound after the call that reports "not
// revoked" without an error fails the test, as in waitStatus; a minute
// without the revocation is taken for a hang.
func waitRevoked(t testing.TB, bound time.Duration, check func() (bool, error), what string) time.Duration {
	t.Helper()
	start := time.Now()
	for {
		sent := time.Now()
		ok, err := check()
		if ok && err == nil {
			return time.Since(start)
		}
		if !ok && err == nil && sent.Sub(start) > bound {
			t.Fatalf("%s: not revoked, from a mirror it calls fresh, %v after the revocation, past the %v bound", what, sent.Sub(start), bound)
		}
		if time.Since(start) > hangGuard {
			t.Fatalf("%s: not revoked after %v (last error: %v)", what, hangGuard, err)
		}
		time.Sleep(time.Millisecond)
	}
}

// revocation is one revocation a cluster test makes: how to make it, how
// to ask a store about it, and where its key lives.
type revocation struct {
	name   string
	master string // address of the master whose slot the key is in
	key    string
	revoke func(ctx context.Context, s *redisstore.Store) error
	check  func(ctx context.Context, s *redisstore.Store) (bool, error)
}

// revocationsOnEveryMaster returns, for every master, a token, a family
// and a subject revocation (under prefix) whose keys land in slots that
// master serves, and one family revoked by the reuse of a refresh token
// (two Rotate calls with one jti).
func revocationsOnEveryMaster(t testing.TB, c *redis.ClusterClient, prefix string) []revocation {
	t.Helper()
	l, masters := layoutOf(t, c)
	const iss = testIssuer
	until := time.Now().Add(time.Hour)
	jtis := requireIDsOnEveryMaster(t, c, l, func(id string) string { return tokenKey(prefix, iss, "j-"+id) })
	fids := requireIDsOnEveryMaster(t, c, l, func(id string) string { return familyKey(prefix, iss, "f-"+id) })
	reused := requireIDsOnEveryMaster(t, c, l, func(id string) string { return familyKey(prefix, iss, "r-"+id) })
	subs := requireIDsOnEveryMaster(t, c, l, func(id string) string { return subjectKey(prefix, iss, "s-"+id) })
	var out []revocation
	for _, m := range masters {
		jti, fid, rfid, sub := "j-"+jtis[m], "f-"+fids[m], "r-"+reused[m], "s-"+subs[m]
		issued := until.Add(-2 * time.Hour) // before the revocation's valid-after
		out = append(out,
			revocation{
				name: "subject on " + m, master: m, key: subjectKey(prefix, iss, sub),
				revoke: func(ctx context.Context, s *redisstore.Store) error {
					return s.RevokeSubject(ctx, iss, sub, until.Add(-time.Hour), until)
				},
				check: func(ctx context.Context, s *redisstore.Store) (bool, error) {
					return s.IsSubjectRevoked(ctx, iss, sub, issued)
				},
			},
			revocation{
				name: "token on " + m, master: m, key: tokenKey(prefix, iss, jti),
				revoke: func(ctx context.Context, s *redisstore.Store) error { return s.Revoke(ctx, iss, jti, until) },
				check:  func(ctx context.Context, s *redisstore.Store) (bool, error) { return s.IsRevoked(ctx, iss, jti) },
			},
			revocation{
				name: "family on " + m, master: m, key: familyKey(prefix, iss, fid),
				revoke: func(ctx context.Context, s *redisstore.Store) error { return s.RevokeFamily(ctx, iss, fid, until) },
				check:  func(ctx context.Context, s *redisstore.Store) (bool, error) { return s.IsFamilyRevoked(ctx, iss, fid) },
			},
			revocation{
				name: "reused family on " + m, master: m, key: familyKey(prefix, iss, rfid),
				revoke: func(ctx context.Context, s *redisstore.Store) error {
					for _, want := range []jwtguard.Rotation{jwtguard.RotationOK, jwtguard.RotationReused} {
						got, err := s.Rotate(ctx, iss, rfid, "r1", strictUse(until, until))
						if err != nil {
							return err
						}
						if got != want {
							return fmt.Errorf("rotate: %v, want %v", got, want)
						}
					}
					return nil
				},
				check: func(ctx context.Context, s *redisstore.Store) (bool, error) { return s.IsFamilyRevoked(ctx, iss, rfid) },
			})
	}
	return out
}

// mastersOf returns the distinct masters of rs.
func mastersOf(rs []revocation) []string {
	var out []string
	for _, r := range rs {
		if !slices.Contains(out, r.master) {
			out = append(out, r.master)
		}
	}
	return out
}

func TestClusterRevocationReachesEveryInstance(t *testing.T) {
	addrs := needCluster(t)
	ctx := context.Background()
	prefix := testPrefix()
	var stores []*redisstore.Store
	for range 3 {
		stores = append(stores, newStore(t, newClusterClient(t, addrs), redisstore.WithPrefix(prefix)))
	}
	c := newClusterClient(t, addrs)
	rs := revocationsOnEveryMaster(t, c, prefix)
	require.GreaterOrEqual(t, len(mastersOf(rs)), 3, "the revocations cover three masters")
	// Every store subscribes on every master, where the revocations stored
	// there are announced.
	for _, m := range mastersOf(rs) {
		requireSubscribers(t, m, prefix, len(stores))
	}

	for i, r := range rs {
		from := i % len(stores)
		t.Run(r.name+" from "+string(rune('A'+from)), func(t *testing.T) {
			start := time.Now()
			require.NoError(t, r.revoke(ctx, stores[from]))
			revoked, err := r.check(ctx, stores[from])
			require.NoError(t, err)
			assert.True(t, revoked, "revoked on the instance that revoked it, on return")
			for j, s := range stores {
				if j == from {
					continue
				}
				waitRevoked(t, clusterEnforceWithin, func() (bool, error) { return r.check(ctx, s) }, "store "+string(rune('A'+j)))
				t.Logf("seen by %c %v after the call to revoke", 'A'+j, time.Since(start))
			}
			requireKeyOn(t, r.master, r.key)
		})
	}
}

func TestClusterLogoutOnOneInstanceIsRefusedOnTheOthers(t *testing.T) {
	prefix := testPrefix()
	// One user per master, whose access token's revocation key lands there.
	ins, masters, pairs := instancesOnCluster(t, prefix, fleet{}, func(p *jwtguard.TokenPair) string {
		jti, _ := claimIDs(t, p.AccessToken)
		return tokenKey(prefix, testIssuer, jti)
	})
	bob := issue(t, "bob")

	for i, m := range masters {
		pair, from := pairs[m], ins[i%len(ins)]
		t.Run("token on "+m+" logged out on "+from.name, func(t *testing.T) {
			for _, in := range ins {
				require.Equal(t, http.StatusOK, in.me(t, pair.AccessToken), in.name)
			}
			require.Equal(t, http.StatusNoContent, from.logout(t, pair.AccessToken))
			jti, _ := claimIDs(t, pair.AccessToken)
			requireKeyOn(t, m, tokenKey(prefix, testIssuer, jti))
			assert.Equal(t, http.StatusUnauthorized, from.me(t, pair.AccessToken), "refused on %s at once", from.name)
			for _, in := range ins {
				if in == from {
					continue
				}
				d := waitStatus(t, in, pair.AccessToken, http.StatusUnauthorized, clusterEnforceWithin)
				t.Logf("logout on %s refused on %s after %v", from.name, in.name, d)
			}
			// The family was revoked with the access token.
			other := ins[(i+1)%len(ins)]
			status, _, err := other.refresh(pair.RefreshToken)
			require.NoError(t, err)
			assert.Equal(t, http.StatusUnauthorized, status, "refresh on %s", other.name)
		})
	}
	for _, in := range ins {
		assert.Equal(t, http.StatusOK, in.me(t, bob.AccessToken), "%s: another user is not affected", in.name)
	}
}

func TestClusterFillSeesRevocationsOnEveryMaster(t *testing.T) {
	addrs := needCluster(t)
	ctx := context.Background()
	prefix := testPrefix()
	a := newStore(t, newClusterClient(t, addrs), redisstore.WithPrefix(prefix))
	rs := revocationsOnEveryMaster(t, newClusterClient(t, addrs), prefix)
	require.GreaterOrEqual(t, len(mastersOf(rs)), 3, "the revocations cover three masters")
	for _, r := range rs {
		require.NoError(t, r.revoke(ctx, a), r.name)
		requireKeyOn(t, r.master, r.key)
	}

	// A store started afterwards has them all from its fill (New waits for
	// it): they were announced before it subscribed.
	b := newStore(t, newClusterClient(t, addrs), redisstore.WithPrefix(prefix))
	for _, r := range rs {
		t.Run(r.name, func(t *testing.T) {
			revoked, err := r.check(ctx, b)
			require.NoError(t, err)
			assert.True(t, revoked)
		})
	}
	assert.Equal(t, len(rs), b.MirrorLen(), "exactly the revocations, no used refresh token")
}

// TestClusterConcurrentRefreshesOverThreeInstances: under strict rotation
// (reuse interval 0), of concurrent refreshes with one token over three
// instances exactly one wins, and the others revoke the family.
func TestClusterConcurrentRefreshesOverThreeInstances(t *testing.T) {
	prefix := testPrefix()
	// One family per master, whose keys land there.
	strict := fleet{issuer: newIssuer(t), sessions: []jwtguard.SessionsOption{jwtguard.WithReuseInterval(0)}}
	ins, masters, pairs := instancesOnCluster(t, prefix, strict, func(p *jwtguard.TokenPair) string {
		_, fid := claimIDs(t, p.RefreshToken)
		return familyKey(prefix, testIssuer, fid)
	})

	const n = 100
	for _, m := range masters {
		pair := pairs[m]
		t.Run("family on "+m, func(t *testing.T) {
			start := time.Now()
			won := refreshRace(t, ins, pair.RefreshToken, n)
			t.Logf("%d concurrent refreshes over %d instances in %v", n, len(ins), time.Since(start))
			requireReuseRevokedEverywhere(t, ins, pair, won, clusterEnforceWithin)
			// Both keys of the family are on its master: the script ran there.
			jti, fid := claimIDs(t, pair.RefreshToken)
			requireKeyOn(t, m, familyKey(prefix, testIssuer, fid))
			requireKeyOn(t, m, usedKey(prefix, testIssuer, fid, jti))
		})
	}
}

func TestClusterEveryKeyHasATTL(t *testing.T) {
	addrs := needCluster(t)
	ctx := context.Background()
	prefix := testPrefix()
	c := newClusterClient(t, addrs)
	s := newStore(t, c, redisstore.WithPrefix(prefix))
	rs := revocationsOnEveryMaster(t, c, prefix)
	for _, r := range rs {
		require.NoError(t, r.revoke(ctx, s), r.name)
	}

	// Every master's keys under the prefix, with their TTLs.
	type keyTTL struct {
		key string
		ttl time.Duration
	}
	var mu sync.Mutex
	found := map[string][]keyTTL{}
	err := c.ForEachMaster(ctx, func(ctx context.Context, node *redis.Client) error {
		var keys []keyTTL
		iter := node.Scan(ctx, 0, prefix+"*", 1000).Iterator()
		for iter.Next(ctx) {
			ttl, err := node.PTTL(ctx, iter.Val()).Result()
			if err != nil {
				return fmt.Errorf("%s: PTTL %s: %w", node.Options().Addr, iter.Val(), err)
			}
			keys = append(keys, keyTTL{iter.Val(), ttl})
		}
		if err := iter.Err(); err != nil {
			return fmt.Errorf("%s: SCAN: %w", node.Options().Addr, err)
		}
		mu.Lock()
		found[node.Options().Addr] = keys
		mu.Unlock()
		return nil
	})
	require.NoError(t, err)

	masters := mastersOf(rs)
	require.Len(t, found, len(masters), "every master scanned")
	for _, m := range masters {
		// A revoked token, a revoked family, a family revoked by reuse and
		// its used refresh token, a revoked subject.
		assert.Len(t, found[m], 5, "keys on %s: %v", m, found[m])
		for _, k := range found[m] {
			assert.Greater(t, k.ttl, time.Duration(0), "key %q on %s has no TTL", k.key, m)
			assert.LessOrEqual(t, k.ttl, time.Hour, "key %q on %s", k.key, m)
		}
	}
}

// A cluster bus that goes silent between two masters leaves the cluster
// "ok" (each still hears the other on its own outgoing link) while the
// announcements one publishes never reach the other's subscribers. A store
// must then still see every revocation within the staleness bound, or
// fail with ErrStale: never serve a mirror it calls fresh that misses one.
func TestClusterSilentBusKeepsTheBound(t *testing.T) {
	if _, err := exec.LookPath("redis-server"); err != nil {
		t.Skip("!!! SKIPPED, no redis-server on PATH: this test starts a cluster of its own, with proxies on its bus")
	}
	// Every node's incoming bus goes through a proxy of its own.
	var proxies []*freezingProxy
	busVia := func(busAddr string) (int, error) {
		p := newFreezingProxy(t, busAddr)
		proxies = append(proxies, p)
		return p.l.Addr().(*net.TCPAddr).Port, nil
	}
	ctx, cancel := context.WithTimeout(context.Background(), clusterStartWithin)
	defer cancel()
	addrs, stop, err := startCluster(ctx, clusterMasters, busVia)
	require.NoError(t, err)
	t.Cleanup(stop)

	const bound = 500 * time.Millisecond
	prefix := testPrefix()
	a := newStore(t, newClusterClient(t, addrs), redisstore.WithPrefix(prefix), redisstore.WithStalenessBound(bound))
	b := newStore(t, newClusterClient(t, addrs), redisstore.WithPrefix(prefix), redisstore.WithStalenessBound(bound))
	c := newClusterClient(t, addrs)
	l, masters := layoutOf(t, c)
	// y serves the channel's slot (where a ClusterClient subscribes); the
	// revocation is stored on another master, x.
	slot, err := c.ClusterKeySlot(ctx, prefix+"events").Result()
	require.NoError(t, err)
	y := l.master(slot)
	x := masters[0]
	if x == y {
		x = masters[1]
	}
	jti := requireIDsOnEveryMaster(t, c, l, func(id string) string { return tokenKey(prefix, testIssuer, id) })[x]

	// Silence the bus into y.
	yi := slices.Index(addrs, y)
	require.GreaterOrEqual(t, yi, 0, "%s among %q", y, addrs)
	proxies[yi].freeze(true)
	t.Cleanup(func() { proxies[yi].freeze(false) })
	require.NoError(t, a.Revoke(context.Background(), testIssuer, jti, time.Now().Add(time.Hour)))
	committed := time.Now()
	requireKeyOn(t, x, tokenKey(prefix, testIssuer, jti))
	info, err := newNodeClient(t, x).ClusterInfo(context.Background()).Result()
	require.NoError(t, err)
	require.Contains(t, info, "cluster_state:ok", "the cluster does not notice")

	for {
		// The time a check starts, not ends: later than that the mirror
		// it answers from cannot have been confirmed, whatever the load.
		sent := time.Now()
		revoked, err := b.IsRevoked(context.Background(), testIssuer, jti)
		if revoked {
			require.NoError(t, err)
			t.Logf("seen by B %v after the revocation returned, the bus into %s silent", time.Since(committed), y)
			return
		}
		if err == nil && sent.Sub(committed) > bound {
			t.Fatalf("B serves its mirror as fresh %v after the revocation was committed on %s, "+
				"past the %v bound, without it (the bus into %s is silent)", sent.Sub(committed), x, bound, y)
		}
		if time.Since(committed) > hangGuard {
			t.Fatalf("B has not seen the revocation %v after it was committed (last error: %v)", time.Since(committed), err)
		}
		time.Sleep(time.Millisecond)
	}
}

// A master that joins the cluster and takes slots is followed: every store
// subscribes on it too (within a second or so), and sees the revocations
// stored there.
func TestClusterNewMasterIsFollowed(t *testing.T) {
	if _, err := exec.LookPath("redis-server"); err != nil {
		t.Skip("!!! SKIPPED, no redis-server on PATH: this test starts a cluster of its own and changes it")
	}
	ctx, cancel := context.WithTimeout(context.Background(), clusterStartWithin)
	defer cancel()
	addrs, stop, err := startCluster(ctx, clusterMasters, nil)
	require.NoError(t, err)
	t.Cleanup(stop)
	prefix := testPrefix()
	a := newStore(t, newClusterClient(t, addrs), redisstore.WithPrefix(prefix))
	b := newStore(t, newClusterClient(t, addrs), redisstore.WithPrefix(prefix))

	// A fourth node joins, empty.
	d, dBus, err := startClusterNode(filepath.Join(t.TempDir(), "d"), nil)
	require.NoError(t, err)
	t.Cleanup(d.stop)
	all := append(slices.Clone(addrs), d.addr)
	host, port, err := net.SplitHostPort(d.addr)
	require.NoError(t, err)
	require.NoError(t, newNodeClient(t, addrs[0]).Do(ctx, "cluster", "meet", host, port, dBus).Err())
	eventually(t, func() bool {
		for _, addr := range all {
			info, err := newNodeClient(t, addr).ClusterInfo(ctx).Result()
			if err != nil || !strings.Contains(info, "cluster_known_nodes:4") || !strings.Contains(info, "cluster_state:ok") {
				return false
			}
		}
		return true
	}, "every node knows the fourth and says cluster_state:ok")

	// It takes the (empty) slot of a revocation key from its master, as a
	// resharding does: IMPORTING, MIGRATING, then NODE on every node.
	c := newClusterClient(t, addrs)
	l, _ := layoutOf(t, c)
	const jti = "moved"
	key := tokenKey(prefix, testIssuer, jti)
	slot, err := c.ClusterKeySlot(ctx, key).Result()
	require.NoError(t, err)
	owner := l.master(slot)
	ownerID, err := newNodeClient(t, owner).Do(ctx, "cluster", "myid").Text()
	require.NoError(t, err)
	dID, err := newNodeClient(t, d.addr).Do(ctx, "cluster", "myid").Text()
	require.NoError(t, err)
	require.NoError(t, newNodeClient(t, d.addr).Do(ctx, "cluster", "setslot", slot, "importing", ownerID).Err())
	require.NoError(t, newNodeClient(t, owner).Do(ctx, "cluster", "setslot", slot, "migrating", dID).Err())
	for _, addr := range append([]string{d.addr, owner}, addrs...) {
		require.NoError(t, newNodeClient(t, addr).Do(ctx, "cluster", "setslot", slot, "node", dID).Err(), addr)
	}

	// Both stores notice the new master and subscribe on it.
	channel := prefix + "events"
	start := time.Now()
	eventually(t, func() bool {
		subs, err := newNodeClient(t, d.addr).PubSubNumSub(ctx, channel).Result()
		return err == nil && subs[channel] == 2
	}, "both stores subscribe on the new master")
	t.Logf("both stores subscribed on the new master %v after it took slot %d", time.Since(start), slot)
	for _, s := range []*redisstore.Store{a, b} {
		require.NoError(t, s.Ready())
	}

	require.NoError(t, a.Revoke(ctx, testIssuer, jti, time.Now().Add(time.Hour)))
	requireKeyOn(t, d.addr, key)
	waitRevoked(t, clusterEnforceWithin, func() (bool, error) { return b.IsRevoked(ctx, testIssuer, jti) }, "store B")
}
