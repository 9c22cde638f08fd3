package app

import (
	"encoding/base64"
	"errors"
	"html/template"
	"net/http"
	"strings"

	"github.com/authcube/authcube"
	"github.com/authcube/authcube/httpauth"
)

// The second factor, email verification and sign-in codes by email: the pages of issue 19.

// mfaView is what the second-factor and email pages get.
type mfaView struct {
	Challenge string       // the sign-in waiting for a code (a hidden field, never in a URL)
	Remember  bool         // the sign-in's "remember me"
	Secret    string       // an enrolment's secret, for manual entry
	QR        template.URL // an enrolment's QR code, a data: URL
	Codes     []string     // recovery codes, shown once
	Status    authcube.SecondFactorStatus
	Email     string // the address a sign-in code went to
}

func init() {
	notices["totp-off"] = "Two-factor authentication is off."
	notices["verified"] = "Your email address is verified."
	notices["verify-sent"] = "A new verification link is on its way."
}

// mfaRoutes adds the pages.
func (a *app) mfaRoutes(mux *http.ServeMux, page, private func(func(http.ResponseWriter, *http.Request)) http.Handler) {
	mux.Handle("POST /signin/code", page(a.signInCode))
	mux.Handle("GET /signin/email", page(a.emailCodeForm))
	mux.Handle("POST /signin/email", page(a.emailCodeSend))
	mux.Handle("POST /signin/email/code", page(a.emailCodeSignIn))
	mux.Handle("GET /security", private(a.security))
	mux.Handle("POST /totp/enroll", private(a.totpEnroll))
	mux.Handle("POST /totp/confirm", private(a.totpConfirm))
	mux.Handle("POST /totp/disable", private(a.totpDisable))
	mux.Handle("POST /totp/recovery", private(a.totpRecovery))
	mux.Handle("POST /email/verify", private(a.sendVerification))
	mux.Handle("GET /verify-email", page(a.verifyEmail))
}

// codeStep shows the second step of a sign-in whose password was right: the code.
func (a *app) codeStep(w http.ResponseWriter, r *http.Request, status int, challenge, next string, remember bool, errText string) {
	a.render(w, r, status, "signin_code", view{Title: "Two-factor authentication", Next: next, Error: errText,
		MFA: mfaView{Challenge: challenge, Remember: remember}})
}

// signInCode completes a sign-in with a TOTP or recovery code; a wrong code keeps the step.
func (a *app) signInCode(w http.ResponseWriter, r *http.Request) {
	challenge, next := r.PostFormValue("challenge"), httpauth.LocalRedirect(r.PostFormValue("next"))
	remember := r.PostFormValue("remember") == "on"
	_, err := a.auth.CompleteSignIn(w, r, challenge, r.PostFormValue("code"), httpauth.SignInOptions{Remember: remember})
	if err != nil {
		var ce *authcube.Error
		if errors.As(err, &ce) && ce.Field == "challenge" {
			a.render(w, r, httpauth.Status(err), "signin", view{Title: "Sign in", Error: message(err), Next: next})
			return
		}
		a.codeStep(w, r, httpauth.Status(err), challenge, next, remember, message(err))
		return
	}
	redirect(w, r, next)
}

func (a *app) emailCodeForm(w http.ResponseWriter, r *http.Request) {
	a.render(w, r, http.StatusOK, "email_code", view{Title: "Email me a code", Next: httpauth.LocalRedirect(r.URL.Query().Get("next"))})
}

// emailCodeSend asks for a code; the page is the same whether or not an account has the address.
func (a *app) emailCodeSend(w http.ResponseWriter, r *http.Request) {
	email := strings.TrimSpace(r.PostFormValue("email"))
	next := httpauth.LocalRedirect(r.PostFormValue("next"))
	err := a.auth.App().RequestSignInCode(r.Context(), authcube.Credentials{Email: email, ClientAddr: a.auth.ClientAddr(r)})
	if err != nil {
		a.render(w, r, httpauth.Status(err), "email_code", view{Title: "Email me a code", Error: message(err), Next: next, Form: map[string]string{"email": email}})
		return
	}
	a.render(w, r, http.StatusOK, "email_code", view{Title: "Email me a code", Next: next,
		Notice: "If an account has this address, a code is on its way.", MFA: mfaView{Email: email}})
}

// emailCodeSignIn signs in with the mailed code (then perhaps the second factor).
func (a *app) emailCodeSignIn(w http.ResponseWriter, r *http.Request) {
	email, next := strings.TrimSpace(r.PostFormValue("email")), httpauth.LocalRedirect(r.PostFormValue("next"))
	_, err := a.auth.SignIn(w, r, authcube.Credentials{Email: email, Code: strings.TrimSpace(r.PostFormValue("code"))})
	if ch, ok := httpauth.Challenge(err); ok {
		a.codeStep(w, r, http.StatusOK, ch, next, false, "")
		return
	}
	if err != nil {
		a.render(w, r, httpauth.Status(err), "email_code", view{Title: "Email me a code", Error: message(err), Next: next, MFA: mfaView{Email: email}})
		return
	}
	redirect(w, r, next)
}

// security shows the second factor and the email's state.
func (a *app) security(w http.ResponseWriter, r *http.Request) {
	a.renderSecurity(w, r, http.StatusOK, "")
}

func (a *app) renderSecurity(w http.ResponseWriter, r *http.Request, status int, errText string) {
	st, err := a.e.SecondFactor(r.Context(), httpauth.TokenFrom(r.Context()))
	if err != nil && errText == "" {
		errText = message(err)
	}
	a.render(w, r, status, "security", view{Title: "Security", Error: errText, MFA: mfaView{Status: st}})
}

// totpEnroll starts an enrolment and shows its QR code and secret.
func (a *app) totpEnroll(w http.ResponseWriter, r *http.Request) {
	en, err := a.e.EnrollTOTP(r.Context(), httpauth.TokenFrom(r.Context()))
	if err != nil {
		a.renderSecurity(w, r, httpauth.Status(err), message(err))
		return
	}
	a.renderEnrolment(w, r, http.StatusOK, en.Secret, en.URL, "")
}

func (a *app) renderEnrolment(w http.ResponseWriter, r *http.Request, status int, secret, url, errText string) {
	png, err := authcube.TOTPQRCode(url, 200)
	if err != nil {
		a.renderSecurity(w, r, http.StatusInternalServerError, message(err))
		return
	}
	a.render(w, r, status, "totp", view{Title: "Turn on two-factor authentication", Error: errText, Form: map[string]string{"url": url},
		MFA: mfaView{Secret: secret, QR: template.URL("data:image/png;base64," + base64.StdEncoding.EncodeToString(png))}})
}

// totpConfirm confirms the enrolment with a first code and shows the recovery codes once.
func (a *app) totpConfirm(w http.ResponseWriter, r *http.Request) {
	codes, err := a.e.ConfirmTOTP(r.Context(), httpauth.TokenFrom(r.Context()), r.PostFormValue("code"))
	if err != nil {
		// The enrolment is still pending: show it again (the secret came back in the form).
		secret, url := r.PostFormValue("secret"), r.PostFormValue("url")
		if secret == "" || !strings.HasPrefix(url, "otpauth://totp/") {
			a.renderSecurity(w, r, httpauth.Status(err), message(err))
			return
		}
		a.renderEnrolment(w, r, httpauth.Status(err), secret, url, message(err))
		return
	}
	a.render(w, r, http.StatusOK, "recovery", view{Title: "Recovery codes", MFA: mfaView{Codes: codes}})
}

func (a *app) totpDisable(w http.ResponseWriter, r *http.Request) {
	if err := a.e.DisableTOTP(r.Context(), httpauth.TokenFrom(r.Context()), r.PostFormValue("proof")); err != nil {
		a.renderSecurity(w, r, httpauth.Status(err), message(err))
		return
	}
	redirect(w, r, "/security?done=totp-off")
}

func (a *app) totpRecovery(w http.ResponseWriter, r *http.Request) {
	codes, err := a.e.RegenerateRecoveryCodes(r.Context(), httpauth.TokenFrom(r.Context()), r.PostFormValue("proof"))
	if err != nil {
		a.renderSecurity(w, r, httpauth.Status(err), message(err))
		return
	}
	a.render(w, r, http.StatusOK, "recovery", view{Title: "Recovery codes", MFA: mfaView{Codes: codes}})
}

func (a *app) sendVerification(w http.ResponseWriter, r *http.Request) {
	if err := a.e.SendEmailVerification(r.Context(), httpauth.TokenFrom(r.Context())); err != nil {
		a.renderSecurity(w, r, httpauth.Status(err), message(err))
		return
	}
	redirect(w, r, "/security?done=verify-sent")
}

// verifyEmail confirms an address from the link of a verification mail. The token only
// confirms the address it was sent to, so following it needs no session.
func (a *app) verifyEmail(w http.ResponseWriter, r *http.Request) {
	if err := a.e.VerifyEmail(r.Context(), r.URL.Query().Get("token")); err != nil {
		a.formError(w, r, "home", "Home", err, nil)
		return
	}
	redirect(w, r, "/?done=verified")
}
