// Package browser holds the example web app's end-to-end tests (TestBrowser…), which drive
// it in headless Chromium through chromedp: every flow by real clicks and form posts, a form
// posted from another origin, and the cookie's attributes. They skip when no Chromium is
// found unless AUTHCUBE_TEST_BROWSER is set, and save a screenshot of each page a failed test
// saw (AUTHCUBE_BROWSER_SCREENSHOTS names the directory).
package browser
