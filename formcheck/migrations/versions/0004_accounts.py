"""accounts a clinic can run: normalised usernames, disabled accounts, sign-in epochs, session tokens, sign-in
throttling and its failures, the access log

Revision ID: 0004
Revises: 0003

Old rows stay readable: every user gets `username_key`, the name as compared from now on (NFKC, trimmed,
case-folded), and is enabled with epoch 0. Where two old accounts differ only in case or spaces ("T2", "t2 "),
the older keeps the name; a later one is found as "NAME#ID" (an admin renames it) — this migration never merges
or drops an account.
"""
from alembic import op
import sqlalchemy as sa


revision = '0004'
down_revision = '0003'


def _key(username: str) -> str:  # formcheck.accounts.username_key as it was when this migration was written
    import unicodedata

    shown = " ".join(unicodedata.normalize("NFKC", username).split())
    return unicodedata.normalize("NFKC", shown.casefold())[:80]


def upgrade() -> None:
    op.create_table('sign_in_throttles',
    sa.Column('id', sa.Integer(), nullable=False),
    sa.Column('key', sa.String(length=220), nullable=False),
    sa.Column('failures', sa.Integer(), nullable=False),
    sa.Column('last_failure_at', sa.DateTime(timezone=True), nullable=False),
    sa.Column('locked_until', sa.DateTime(timezone=True), nullable=True),
    sa.PrimaryKeyConstraint('id'),
    sa.UniqueConstraint('key')
    )
    op.create_table('access_log',
    sa.Column('id', sa.Integer(), nullable=False),
    sa.Column('patient_id', sa.Integer(), nullable=False),
    sa.Column('actor_id', sa.Integer(), nullable=False),
    sa.Column('actor_role', sa.String(length=16), nullable=False),
    sa.Column('what', sa.String(length=80), nullable=False),
    sa.Column('created_at', sa.DateTime(timezone=True), nullable=False),
    sa.ForeignKeyConstraint(['actor_id'], ['users.id'], ),
    sa.ForeignKeyConstraint(['patient_id'], ['users.id'], ),
    sa.PrimaryKeyConstraint('id')
    )
    with op.batch_alter_table('access_log', schema=None) as batch_op:
        batch_op.create_index(batch_op.f('ix_access_log_patient_id'), ['patient_id'], unique=False)

    op.create_table('sign_in_failures',
    sa.Column('id', sa.Integer(), nullable=False),
    sa.Column('username', sa.String(length=80), nullable=False),
    sa.Column('user_id', sa.Integer(), nullable=True),
    sa.Column('client', sa.String(length=120), nullable=True),
    sa.Column('reason', sa.String(length=20), nullable=False),
    sa.Column('created_at', sa.DateTime(timezone=True), nullable=False),
    sa.ForeignKeyConstraint(['user_id'], ['users.id'], ),
    sa.PrimaryKeyConstraint('id')
    )
    with op.batch_alter_table('sign_in_failures', schema=None) as batch_op:
        batch_op.create_index(batch_op.f('ix_sign_in_failures_created_at'), ['created_at'], unique=False)

    op.create_table('sign_in_tokens',
    sa.Column('id', sa.Integer(), nullable=False),
    sa.Column('user_id', sa.Integer(), nullable=False),
    sa.Column('token_hash', sa.String(length=64), nullable=False),
    sa.Column('epoch', sa.Integer(), nullable=False),
    sa.Column('client', sa.String(length=120), nullable=True),
    sa.Column('created_at', sa.DateTime(timezone=True), nullable=False),
    sa.Column('last_seen_at', sa.DateTime(timezone=True), nullable=False),
    sa.Column('expires_at', sa.DateTime(timezone=True), nullable=False),
    sa.Column('ended_at', sa.DateTime(timezone=True), nullable=True),
    sa.ForeignKeyConstraint(['user_id'], ['users.id'], ),
    sa.PrimaryKeyConstraint('id'),
    sa.UniqueConstraint('token_hash')
    )
    with op.batch_alter_table('sign_in_tokens', schema=None) as batch_op:
        batch_op.create_index(batch_op.f('ix_sign_in_tokens_expires_at'), ['expires_at'], unique=False)
        batch_op.create_index(batch_op.f('ix_sign_in_tokens_user_id'), ['user_id'], unique=False)

    # constant defaults only: SQLite then adds the columns in place (a copy of `users` would break the rows
    # that reference it)
    with op.batch_alter_table('users', schema=None) as batch_op:
        batch_op.add_column(sa.Column('username_key', sa.String(length=80), nullable=True))
        batch_op.add_column(sa.Column('disabled_at', sa.DateTime(timezone=True), nullable=True))
        batch_op.add_column(sa.Column('auth_epoch', sa.Integer(), server_default='0', nullable=False))
        batch_op.add_column(sa.Column('password_changed_at', sa.DateTime(timezone=True), nullable=True))
        batch_op.add_column(sa.Column('must_change_password', sa.Boolean(), server_default='0',
                                      nullable=False))

    # --- old rows: each user's name as compared, the older account keeping a name two share ---
    bind = op.get_bind()
    users = sa.table('users', sa.column('id', sa.Integer()), sa.column('username', sa.String()),
                     sa.column('username_key', sa.String()))
    taken = set()
    for row in bind.execute(sa.select(users.c.id, users.c.username).order_by(users.c.id)).all():
        key = _key(row.username)
        if key in taken or not key:
            key = f"{key[:60]}#{row.id}"
        taken.add(key)
        bind.execute(users.update().where(users.c.id == row.id).values(username_key=key))

    with op.batch_alter_table('users', schema=None) as batch_op:  # an index: no copy of the table on SQLite
        batch_op.create_index(batch_op.f('ix_users_username_key'), ['username_key'], unique=True)


def downgrade() -> None:
    with op.batch_alter_table('users', schema=None) as batch_op:
        batch_op.drop_index(batch_op.f('ix_users_username_key'))
        for name in ('must_change_password', 'password_changed_at', 'auth_epoch', 'disabled_at', 'username_key'):
            batch_op.drop_column(name)
    with op.batch_alter_table('sign_in_tokens', schema=None) as batch_op:
        batch_op.drop_index(batch_op.f('ix_sign_in_tokens_user_id'))
        batch_op.drop_index(batch_op.f('ix_sign_in_tokens_expires_at'))
    op.drop_table('sign_in_tokens')
    with op.batch_alter_table('sign_in_failures', schema=None) as batch_op:
        batch_op.drop_index(batch_op.f('ix_sign_in_failures_created_at'))
    op.drop_table('sign_in_failures')
    with op.batch_alter_table('access_log', schema=None) as batch_op:
        batch_op.drop_index(batch_op.f('ix_access_log_patient_id'))
    op.drop_table('access_log')
    op.drop_table('sign_in_throttles')
