package authcube

import (
	"context"
	"net/netip"
)

// clientAddrKey is the context key of WithClientAddr.
type clientAddrKey struct{}

// WithClientAddr returns a copy of ctx carrying the address of the client a call serves, in
// the forms Credentials.ClientAddr takes ("203.0.113.7", "203.0.113.7:51234",
// "[2001:db8::1]:443"), for calls that take no Credentials: ConfirmPasswordReset counts a
// failed attempt against the address's budget (Config.ClientThrottle, S36) as well as the
// reset token's, so one client cannot try tokens without end. httpauth's Middleware sets it
// for every request. "" or anything that is not an address is ignored (no client budget), as
// is a context without it.
func WithClientAddr(ctx context.Context, addr string) context.Context {
	return context.WithValue(ctx, clientAddrKey{}, addr)
}

// clientAddrFrom returns the address WithClientAddr put in ctx; the zero Addr when there is
// none or it does not parse.
func clientAddrFrom(ctx context.Context) netip.Addr {
	s, _ := ctx.Value(clientAddrKey{}).(string)
	a, err := parseClientAddr("", s)
	if err != nil {
		return netip.Addr{}
	}
	return a
}
