package main

import (
	"context"
	"database/sql"
	"errors"
	"fmt"
	"time"

	_ "modernc.org/sqlite" // the "sqlite" driver: pure Go, no CGO
)

// User is a row of the users table.
type User struct {
	ID           int64
	Email        string
	PasswordHash []byte
	Active       bool
	CreatedAt    time.Time
}

// Errors of the user store.
var (
	errNotFound   = errors.New("user not found")
	errEmailTaken = errors.New("email already registered")
)

// schema is applied at every start; it only creates what is missing.
// AUTOINCREMENT keeps ids from being reused, so a token minted for a
// deleted user never names a later one. email holds the canonical form of
// the address (see canonicalEmail): its UNIQUE constraint is what makes
// one identity one account, even when registrations race.
const schema = `
CREATE TABLE IF NOT EXISTS users (
	id            INTEGER PRIMARY KEY AUTOINCREMENT,
	email         TEXT    NOT NULL UNIQUE,
	password_hash TEXT    NOT NULL,
	is_active     INTEGER NOT NULL DEFAULT 1,
	created_at    TEXT    NOT NULL
);`

// Users stores users in SQLite. It is safe for concurrent use.
type Users struct {
	db *sql.DB
}

// openUsers opens (or creates) the database at path and its schema. WAL
// lets readers run while a writer writes; the busy timeout makes
// concurrent writers wait for each other instead of failing.
func openUsers(ctx context.Context, path string) (*Users, error) {
	db, err := sql.Open("sqlite", path+"?_pragma=busy_timeout(5000)&_pragma=journal_mode(WAL)")
	if err != nil {
		return nil, fmt.Errorf("open database %s: %w", path, err)
	}
	if _, err := db.ExecContext(ctx, schema); err != nil {
		db.Close()
		return nil, fmt.Errorf("create schema in %s: %w", path, err)
	}
	return &Users{db: db}, nil
}

// Close closes the database.
func (u *Users) Close() error { return u.db.Close() }

// Create adds a user, or returns errEmailTaken.
func (u *Users) Create(ctx context.Context, email string, hash []byte) (*User, error) {
	now := time.Now().UTC().Truncate(time.Second)
	var id int64
	err := u.db.QueryRowContext(ctx,
		`INSERT INTO users (email, password_hash, created_at) VALUES (?, ?, ?)
		 ON CONFLICT (email) DO NOTHING RETURNING id`,
		email, string(hash), now.Format(time.RFC3339)).Scan(&id)
	switch {
	case errors.Is(err, sql.ErrNoRows):
		return nil, errEmailTaken
	case err != nil:
		return nil, fmt.Errorf("create user: %w", err)
	}
	return &User{ID: id, Email: email, PasswordHash: hash, Active: true, CreatedAt: now}, nil
}

// ByEmail finds a user by canonical email (see canonicalEmail), or
// returns errNotFound.
func (u *Users) ByEmail(ctx context.Context, email string) (*User, error) {
	return u.one(ctx, `WHERE email = ?`, email)
}

// ByID finds a user by id, or returns errNotFound.
func (u *Users) ByID(ctx context.Context, id int64) (*User, error) {
	return u.one(ctx, `WHERE id = ?`, id)
}

// SetActive activates or deactivates a user. Deactivated users cannot log
// in, refresh, or use /me.
func (u *Users) SetActive(ctx context.Context, id int64, active bool) error {
	res, err := u.db.ExecContext(ctx, `UPDATE users SET is_active = ? WHERE id = ?`, active, id)
	if err != nil {
		return fmt.Errorf("update user: %w", err)
	}
	if n, err := res.RowsAffected(); err == nil && n == 0 {
		return errNotFound
	}
	return nil
}

// SetPasswordHash replaces the password hash of user id, if it is still
// old (so that a concurrent change of password wins), as a login does to
// move a hash to the current bcrypt cost.
func (u *Users) SetPasswordHash(ctx context.Context, id int64, old, hash []byte) error {
	_, err := u.db.ExecContext(ctx, `UPDATE users SET password_hash = ? WHERE id = ? AND password_hash = ?`,
		string(hash), id, string(old))
	if err != nil {
		return fmt.Errorf("update password hash: %w", err)
	}
	return nil
}

// ReplacePasswordHash replaces the password hash of user id with hash if
// it is still old, as a change of password does, and reports whether it
// did: false when the password changed meanwhile (or the user is gone).
func (u *Users) ReplacePasswordHash(ctx context.Context, id int64, old, hash []byte) (bool, error) {
	res, err := u.db.ExecContext(ctx, `UPDATE users SET password_hash = ? WHERE id = ? AND password_hash = ?`,
		string(hash), id, string(old))
	if err != nil {
		return false, fmt.Errorf("update password hash: %w", err)
	}
	n, err := res.RowsAffected()
	if err != nil {
		return false, fmt.Errorf("update password hash: %w", err)
	}
	return n == 1, nil
}

func (u *Users) one(ctx context.Context, where string, arg any) (*User, error) {
	var (
		usr     User
		hash    string
		created string
	)
	err := u.db.QueryRowContext(ctx,
		`SELECT id, email, password_hash, is_active, created_at FROM users `+where, arg).
		Scan(&usr.ID, &usr.Email, &hash, &usr.Active, &created)
	switch {
	case errors.Is(err, sql.ErrNoRows):
		return nil, errNotFound
	case err != nil:
		return nil, fmt.Errorf("read user: %w", err)
	}
	usr.PasswordHash = []byte(hash)
	usr.CreatedAt, _ = time.Parse(time.RFC3339, created)
	return &usr, nil
}
