"""Web plumbing shared by the three surfaces: authentication, captcha, headers, errors."""
