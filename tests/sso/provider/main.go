// kmlf-oidc: the OpenID Connect provider of the single sign-on tests, oauth2-proxy's mockoidc
// (discovery, authorization code with PKCE, tokens signed with RS256, JWKS, userinfo) behind a
// login page with passwords and groups, and the password grant for programmatic clients.
//
// Environment:
//
//	KMLF_OIDC_ISSUER_HOST  host:port of the issuer URL (http://<it>/oidc), as browsers and pods reach it
//	KMLF_OIDC_LISTEN       the listen address (default :5556)
//	KMLF_OIDC_CLIENT_ID, KMLF_OIDC_CLIENT_SECRET  the one client
//	KMLF_OIDC_USERS        "name:password:email:group,group;..." (the users and their groups)
package main

import (
	"crypto/subtle"
	"html/template"
	"log"
	"net"
	"net/http"
	"os"
	"strings"
	"sync"

	"github.com/oauth2-proxy/mockoidc"
)

type account struct {
	password string
	user     *mockoidc.MockUser
}

var page = template.Must(template.New("login").Parse(`<!DOCTYPE html>
<html><head><title>Sign in - kmlf-oidc</title></head>
<body><h1>Sign in to kmlf-oidc</h1>
{{if .Error}}<p id="error" style="color:#b00">{{.Error}}</p>{{end}}
<form method="post" action="/oidc/authorize">
{{range $k, $v := .Params}}<input type="hidden" name="{{$k}}" value="{{$v}}">{{end}}
<label>Username <input id="username" name="username" autocomplete="username"></label>
<label>Password <input id="password" name="password" type="password" autocomplete="current-password"></label>
<button id="submit" type="submit">Sign in</button>
</form></body></html>
`))

func main() {
	m, err := mockoidc.NewServer(nil)
	if err != nil {
		log.Fatal(err)
	}
	m.ClientID = must("KMLF_OIDC_CLIENT_ID")
	m.ClientSecret = must("KMLF_OIDC_CLIENT_SECRET")
	accounts := parseUsers(must("KMLF_OIDC_USERS"))
	listen := os.Getenv("KMLF_OIDC_LISTEN")
	if listen == "" {
		listen = ":5556"
	}
	var mu sync.Mutex // mockoidc's queues and session store are not safe for concurrent use
	locked := func(h http.HandlerFunc) http.HandlerFunc {
		return func(w http.ResponseWriter, r *http.Request) {
			mu.Lock()
			defer mu.Unlock()
			h(w, r)
		}
	}
	mux := http.NewServeMux()
	mux.HandleFunc(mockoidc.AuthorizationEndpoint, locked(func(w http.ResponseWriter, r *http.Request) {
		authorize(m, accounts, w, r)
	}))
	mux.HandleFunc(mockoidc.TokenEndpoint, locked(func(w http.ResponseWriter, r *http.Request) {
		token(m, accounts, w, r)
	}))
	mux.HandleFunc(mockoidc.UserinfoEndpoint, locked(m.Userinfo))
	mux.HandleFunc(mockoidc.JWKSEndpoint, locked(m.JWKS))
	mux.HandleFunc(mockoidc.DiscoveryEndpoint, locked(m.Discovery))
	mux.HandleFunc("/healthz", func(w http.ResponseWriter, r *http.Request) { w.Write([]byte("ok\n")) })
	// mockoidc names its issuer after its server's address: the one browsers and pods use.
	m.Server = &http.Server{Addr: must("KMLF_OIDC_ISSUER_HOST"), Handler: logged(mux)}
	ln, err := net.Listen("tcp", listen)
	if err != nil {
		log.Fatal(err)
	}
	log.Printf("kmlf-oidc: issuer %s, listening on %s, %d users", m.Issuer(), listen, len(accounts))
	log.Fatal(m.Server.Serve(ln))
}

// authorize shows the login page (GET), or checks the password and lets mockoidc issue the code
// for that user (POST): a wrong password gets the page again with 401.
func authorize(m *mockoidc.MockOIDC, accounts map[string]account, w http.ResponseWriter, r *http.Request) {
	if err := r.ParseForm(); err != nil {
		http.Error(w, err.Error(), http.StatusBadRequest)
		return
	}
	params := map[string]string{}
	for k := range r.Form {
		if k != "username" && k != "password" {
			params[k] = r.Form.Get(k)
		}
	}
	if r.Method != http.MethodPost {
		show(w, http.StatusOK, params, "")
		return
	}
	user := check(accounts, r.Form.Get("username"), r.Form.Get("password"))
	if user == nil {
		log.Printf("kmlf-oidc: wrong username or password for %q", r.Form.Get("username"))
		show(w, http.StatusUnauthorized, params, "Invalid username or password.")
		return
	}
	log.Printf("kmlf-oidc: %s signed in", user.Email)
	m.QueueUser(user)
	m.Authorize(w, r)
}

// token adds the password grant (RFC 6749 4.3) to mockoidc's code and refresh grants: the
// client and the user are checked, then a code is made for the user and redeemed at once.
func token(m *mockoidc.MockOIDC, accounts map[string]account, w http.ResponseWriter, r *http.Request) {
	if err := r.ParseForm(); err != nil {
		http.Error(w, err.Error(), http.StatusBadRequest)
		return
	}
	if id, secret, ok := r.BasicAuth(); ok {
		r.Form.Set("client_id", id)
		r.Form.Set("client_secret", secret)
	}
	if r.Form.Get("grant_type") == "password" {
		user := check(accounts, r.Form.Get("username"), r.Form.Get("password"))
		if user == nil || !same(r.Form.Get("client_id"), m.ClientID) || !same(r.Form.Get("client_secret"), m.ClientSecret) {
			w.Header().Set("Content-Type", "application/json")
			w.WriteHeader(http.StatusUnauthorized)
			w.Write([]byte(`{"error":"invalid_grant","error_description":"wrong client or user credentials"}` + "\n"))
			return
		}
		scope := r.Form.Get("scope")
		if scope == "" {
			scope = "openid email profile groups"
		}
		session, err := m.SessionStore.NewSession(scope, "", user, "", "")
		if err != nil {
			http.Error(w, err.Error(), http.StatusInternalServerError)
			return
		}
		r.Form.Set("grant_type", "authorization_code")
		r.Form.Set("code", session.SessionID)
	}
	m.Token(w, r)
}

func show(w http.ResponseWriter, status int, params map[string]string, problem string) {
	w.Header().Set("Content-Type", "text/html; charset=utf-8")
	w.WriteHeader(status)
	page.Execute(w, map[string]any{"Params": params, "Error": problem})
}

func check(accounts map[string]account, name, password string) *mockoidc.MockUser {
	a, ok := accounts[name]
	if !ok || !same(password, a.password) {
		return nil
	}
	return a.user
}

func same(a, b string) bool { return subtle.ConstantTimeCompare([]byte(a), []byte(b)) == 1 }

func parseUsers(text string) map[string]account {
	accounts := map[string]account{}
	for _, entry := range strings.Split(text, ";") {
		f := strings.SplitN(strings.TrimSpace(entry), ":", 4)
		if len(f) < 3 {
			log.Fatalf("KMLF_OIDC_USERS: %q is not name:password:email[:groups]", entry)
		}
		var groups []string
		if len(f) == 4 && f[3] != "" {
			groups = strings.Split(f[3], ",")
		}
		accounts[f[0]] = account{password: f[1], user: &mockoidc.MockUser{
			Subject: f[0], Email: f[2], EmailVerified: true, PreferredUsername: f[0], Groups: groups,
		}}
	}
	return accounts
}

func must(name string) string {
	v := os.Getenv(name)
	if v == "" {
		log.Fatalf("%s is not set", name)
	}
	return v
}

func logged(h http.Handler) http.Handler {
	return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		log.Printf("%s %s", r.Method, r.URL.Path)
		h.ServeHTTP(w, r)
	})
}
