"""The QA surface: a pytest plugin with the `kiosk` fixture and a screen driver."""
