// Hands the OAuth2 redirect back to Swagger UI (used by authorization-code and implicit flows).
(function () {
  var oauth2 = window.opener.swaggerUIRedirectOauth2;
  var sentState = oauth2.state;
  var redirectUrl = oauth2.redirectUrl;
  var qp = /code|token|error/.test(window.location.hash)
    ? window.location.hash.substring(1).replace("?", "&")
    : location.search.substring(1);
  var params = {};
  qp.split("&").forEach(function (pair) {
    if (!pair) return;
    var kv = pair.split("=");
    params[decodeURIComponent(kv[0])] = decodeURIComponent(kv[1] || "");
  });
  var isValid = params.state === sentState;
  var flow = oauth2.auth.schema.get("flow");
  if ((flow === "accessCode" || flow === "authorizationCode" || flow === "authorization_code") && !oauth2.auth.code) {
    if (!isValid) {
      oauth2.errCb({ authId: oauth2.auth.name, source: "auth", level: "warning", message: "Authorization may be unsafe: the state does not match." });
    }
    if (params.code) {
      delete oauth2.state;
      oauth2.auth.code = params.code;
      oauth2.callback({ auth: oauth2.auth, redirectUrl: redirectUrl });
    } else {
      oauth2.errCb({ authId: oauth2.auth.name, source: "auth", level: "error", message: params.error || "No authorization code received." });
    }
  } else {
    oauth2.callback({ auth: oauth2.auth, token: params, isValid: isValid, redirectUrl: redirectUrl });
  }
  window.close();
})();
