//! Request body processors: urlencoded, multipart, JSON and XML.
