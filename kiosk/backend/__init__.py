"""The operator's platform. This slice runs standalone: the locker is its own system of record;
the remote client and the API contract arrive with the platform issue."""
