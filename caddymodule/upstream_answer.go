package caddymodule

import (
	"errors"
	"net/http"
	"strings"
	"time"

	"github.com/google/uuid"
	"go.uber.org/zap"

	"github.com/c0f4626f/caddy-session/sessionstore"
)

// The upstream answers the session with response headers, which never reach
// the browser:
//
//	<prefix>User-ID: <id>  binds the client to the application's user from
//	                       this event on (a login)
//	<prefix>Reset: true    gives the browser a brand-new client and session
//	                       (a logout on a shared computer)
//
// A request without identity (no consent, a crawler, a subresource without
// valid cookies) has them removed and nothing else.
const (
	answerUserID = "User-ID"
	answerReset  = "Reset"
)

// takeAnswer removes the upstream's session answer from the response
// header and returns it: the user ID ("" without one) and whether the
// upstream asked for a reset.
func (u upstreamHeaders) takeAnswer(h http.Header) (userID string, reset bool) {
	if v, ok := h[u.userID]; ok {
		delete(h, u.userID)
		if len(v) > 0 {
			userID = v[0]
		}
	}
	if v, ok := h[u.reset]; ok {
		delete(h, u.reset)
		reset = len(v) > 0 && strings.EqualFold(strings.TrimSpace(v[0]), "true")
	}
	return userID, reset
}

// dropAnswerTrailers removes an answer the upstream sent as trailers
// (reverse_proxy copies them into the header map after the body): it comes
// after the response header and the cookies, too late to act on, and must
// not reach the browser either.
func (u upstreamHeaders) dropAnswerTrailers(h http.Header) {
	for _, name := range [...]string{u.userID, u.reset} {
		delete(h, name)
		delete(h, http.TrailerPrefix+name)
	}
}

// answer acts on the upstream's session answer when the final response
// header is written. With both headers, the new client is the one bound (a
// switch of users on one browser); the access log, which records the old
// client's event, then shows the reset but not the new client's user.
func (w *sessionWriter) answer() {
	userID, reset := w.h.headers.takeAnswer(w.Header())
	if w.client.ClientID == uuid.Nil || (userID == "" && !reset) {
		return
	}
	client := w.client
	if reset {
		client = w.reset()
	}
	if userID != "" && w.h.bindUser(w.r, client, userID) && !reset {
		w.text.UserID = userID // the access log is written after the response
	}
}

// reset makes this response's event the first of a brand-new client: the
// store gets the client as any first visit makes it (cID == sID == eID,
// kept in memory until the browser returns), so that the browser's next
// request continues it as its second event, the same whether the store or
// the cookies answer it. The client's cookies replace the ones prepared for
// this response. The old client keeps its history; nothing links the two.
func (w *sessionWriter) reset() sessionstore.Claim {
	now := time.Now()
	v := w.h.visitOf(w.r, sessionstore.Claim{}, sessionstore.NewID(now), now)
	ev := w.h.store.Visit(w.r.Context(), v, w.h.opts)
	countEvent(ev)
	h := w.Header()
	w.h.cookies.dropSessionCookies(h)
	w.h.cookies.write(h, newEventText(ev, ""), claimed{}, now)
	w.private = w.h.cacheControl()
	w.text.reset = "true"
	return sessionstore.Claim{ClientID: ev.ClientID, SessionID: ev.SessionID, EventID: ev.EventID, FromCookie: true}
}

// bindUser binds the client to the user and reports whether the ID was
// valid. A store that fails is logged: the response goes on either way.
func (h *Handler) bindUser(r *http.Request, client sessionstore.Claim, userID string) bool {
	err := h.store.BindUser(r.Context(), client, userID, h.opts)
	switch {
	case errors.Is(err, sessionstore.ErrInvalidUserID):
		h.logger.Debug("ignoring an invalid user ID from the upstream",
			zap.String("header", h.headers.userID), zap.Int("bytes", len(userID)))
		return false
	case errors.Is(err, sessionstore.ErrErased):
		h.logger.Debug("not binding an erased client to its user", zap.Stringer("client", client.ClientID))
	case err != nil:
		h.logger.Warn("session store: binding the client to its user failed",
			zap.Stringer("client", client.ClientID), zap.Error(err))
	}
	return true
}
