"""SMART on FHIR: app and backend clients (redirect URIs, scopes, launch URL), authorization codes,
tokens, EHR launches, the id_token signing key, JWT ids seen (replay refusal), Bulk Data exports;
documents imported with a referral (DocumentReference)

Revision ID: 0013
Revises: 0008
Create Date: 2026-12-03 13:28:30
"""
from __future__ import annotations

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op

revision: str = "0013"
down_revision: str | None = "0008"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None


def upgrade() -> None:
    op.create_table('document_reference',
    sa.Column('patient_id', sa.Uuid(), nullable=False),
    sa.Column('status', sa.String(length=20), nullable=False),
    sa.Column('type_code', sa.String(length=20), nullable=True),
    sa.Column('type_display', sa.String(length=200), nullable=True),
    sa.Column('description', sa.String(length=500), nullable=False),
    sa.Column('author_display', sa.String(length=200), nullable=True),
    sa.Column('date', sa.DateTime(timezone=True), nullable=False),
    sa.Column('content_type', sa.String(length=100), nullable=False),
    sa.Column('title', sa.String(length=200), nullable=False),
    sa.Column('data', sa.Text(), nullable=True),
    sa.Column('url', sa.String(length=500), nullable=True),
    sa.Column('size', sa.Integer(), nullable=True),
    sa.Column('id', sa.Uuid(), nullable=False),
    sa.Column('created_at', sa.DateTime(timezone=True), nullable=False),
    sa.Column('updated_at', sa.DateTime(timezone=True), nullable=False),
    sa.ForeignKeyConstraint(['patient_id'], ['patient.id'], name=op.f('fk_document_reference_patient_id_patient'),
                            ondelete='CASCADE'),
    sa.PrimaryKeyConstraint('id', name=op.f('pk_document_reference'))
    )
    with op.batch_alter_table('document_reference', schema=None) as batch_op:
        batch_op.create_index(batch_op.f('ix_document_reference_patient_id'), ['patient_id'], unique=False)
    op.create_table('signing_key',
    sa.Column('kid', sa.String(length=64), nullable=False),
    sa.Column('private_jwk', sa.JSON(), nullable=False),
    sa.Column('id', sa.Uuid(), nullable=False),
    sa.Column('created_at', sa.DateTime(timezone=True), nullable=False),
    sa.Column('updated_at', sa.DateTime(timezone=True), nullable=False),
    sa.PrimaryKeyConstraint('id', name=op.f('pk_signing_key')),
    sa.UniqueConstraint('kid', name=op.f('uq_signing_key_kid'))
    )
    op.create_table('used_jwt_id',
    sa.Column('issuer', sa.String(length=200), nullable=False),
    sa.Column('jti', sa.String(length=200), nullable=False),
    sa.Column('expires_at', sa.DateTime(timezone=True), nullable=False),
    sa.Column('id', sa.Uuid(), nullable=False),
    sa.PrimaryKeyConstraint('id', name=op.f('pk_used_jwt_id')),
    sa.UniqueConstraint('issuer', 'jti', name='uq_used_jwt_id_issuer_jti')
    )
    with op.batch_alter_table('used_jwt_id', schema=None) as batch_op:
        batch_op.create_index(batch_op.f('ix_used_jwt_id_expires_at'), ['expires_at'], unique=False)

    op.create_table('bulk_export',
    sa.Column('client_id', sa.String(length=200), nullable=False),
    sa.Column('organization_id', sa.Uuid(), nullable=False),
    sa.Column('level', sa.String(length=20), nullable=False),
    sa.Column('group_id', sa.String(length=100), nullable=True),
    sa.Column('types', sa.JSON(), nullable=False),
    sa.Column('since', sa.DateTime(timezone=True), nullable=True),
    sa.Column('request_url', sa.String(length=2000), nullable=False),
    sa.Column('status', sa.String(length=20), nullable=False),
    sa.Column('error', sa.Text(), nullable=True),
    sa.Column('completed_at', sa.DateTime(timezone=True), nullable=True),
    sa.Column('id', sa.Uuid(), nullable=False),
    sa.Column('created_at', sa.DateTime(timezone=True), nullable=False),
    sa.Column('updated_at', sa.DateTime(timezone=True), nullable=False),
    sa.ForeignKeyConstraint(['organization_id'], ['organization.id'], name=op.f('fk_bulk_export_organization_id_organization')),
    sa.PrimaryKeyConstraint('id', name=op.f('pk_bulk_export'))
    )
    with op.batch_alter_table('bulk_export', schema=None) as batch_op:
        batch_op.create_index(batch_op.f('ix_bulk_export_client_id'), ['client_id'], unique=False)

    op.create_table('bulk_export_file',
    sa.Column('export_id', sa.Uuid(), nullable=False),
    sa.Column('type', sa.String(length=50), nullable=False),
    sa.Column('count', sa.Integer(), nullable=False),
    sa.Column('content', sa.Text(), nullable=False),
    sa.Column('id', sa.Uuid(), nullable=False),
    sa.ForeignKeyConstraint(['export_id'], ['bulk_export.id'], name=op.f('fk_bulk_export_file_export_id_bulk_export'), ondelete='CASCADE'),
    sa.PrimaryKeyConstraint('id', name=op.f('pk_bulk_export_file'))
    )
    with op.batch_alter_table('bulk_export_file', schema=None) as batch_op:
        batch_op.create_index(batch_op.f('ix_bulk_export_file_export_id'), ['export_id'], unique=False)

    op.create_table('oauth_code',
    sa.Column('code_hash', sa.String(length=64), nullable=False),
    sa.Column('client_id', sa.String(length=200), nullable=False),
    sa.Column('user_id', sa.Uuid(), nullable=False),
    sa.Column('redirect_uri', sa.String(length=500), nullable=False),
    sa.Column('scope', sa.String(length=1000), nullable=False),
    sa.Column('code_challenge', sa.String(length=128), nullable=False),
    sa.Column('code_challenge_method', sa.String(length=10), nullable=False),
    sa.Column('nonce', sa.String(length=200), nullable=True),
    sa.Column('patient_id', sa.Uuid(), nullable=True),
    sa.Column('expires_at', sa.DateTime(timezone=True), nullable=False),
    sa.Column('id', sa.Uuid(), nullable=False),
    sa.Column('created_at', sa.DateTime(timezone=True), nullable=False),
    sa.Column('updated_at', sa.DateTime(timezone=True), nullable=False),
    sa.ForeignKeyConstraint(['user_id'], ['user_account.id'], name=op.f('fk_oauth_code_user_id_user_account'), ondelete='CASCADE'),
    sa.PrimaryKeyConstraint('id', name=op.f('pk_oauth_code')),
    sa.UniqueConstraint('code_hash', name=op.f('uq_oauth_code_code_hash'))
    )
    with op.batch_alter_table('oauth_code', schema=None) as batch_op:
        batch_op.create_index(batch_op.f('ix_oauth_code_client_id'), ['client_id'], unique=False)
        batch_op.create_index(batch_op.f('ix_oauth_code_user_id'), ['user_id'], unique=False)

    op.create_table('oauth_token',
    sa.Column('access_token_hash', sa.String(length=64), nullable=False),
    sa.Column('refresh_token_hash', sa.String(length=64), nullable=True),
    sa.Column('client_id', sa.String(length=200), nullable=False),
    sa.Column('user_id', sa.Uuid(), nullable=True),
    sa.Column('scope', sa.String(length=1000), nullable=False),
    sa.Column('patient_id', sa.Uuid(), nullable=True),
    sa.Column('expires_at', sa.DateTime(timezone=True), nullable=False),
    sa.Column('refresh_expires_at', sa.DateTime(timezone=True), nullable=True),
    sa.Column('revoked', sa.Boolean(), nullable=False),
    sa.Column('id', sa.Uuid(), nullable=False),
    sa.Column('created_at', sa.DateTime(timezone=True), nullable=False),
    sa.Column('updated_at', sa.DateTime(timezone=True), nullable=False),
    sa.ForeignKeyConstraint(['user_id'], ['user_account.id'], name=op.f('fk_oauth_token_user_id_user_account'), ondelete='CASCADE'),
    sa.PrimaryKeyConstraint('id', name=op.f('pk_oauth_token')),
    sa.UniqueConstraint('access_token_hash', name=op.f('uq_oauth_token_access_token_hash')),
    sa.UniqueConstraint('refresh_token_hash', name=op.f('uq_oauth_token_refresh_token_hash'))
    )
    with op.batch_alter_table('oauth_token', schema=None) as batch_op:
        batch_op.create_index(batch_op.f('ix_oauth_token_client_id'), ['client_id'], unique=False)
        batch_op.create_index(batch_op.f('ix_oauth_token_user_id'), ['user_id'], unique=False)

    op.create_table('smart_launch',
    sa.Column('token_hash', sa.String(length=64), nullable=False),
    sa.Column('client_id', sa.String(length=200), nullable=False),
    sa.Column('user_id', sa.Uuid(), nullable=False),
    sa.Column('patient_id', sa.Uuid(), nullable=False),
    sa.Column('expires_at', sa.DateTime(timezone=True), nullable=False),
    sa.Column('id', sa.Uuid(), nullable=False),
    sa.Column('created_at', sa.DateTime(timezone=True), nullable=False),
    sa.Column('updated_at', sa.DateTime(timezone=True), nullable=False),
    sa.ForeignKeyConstraint(['patient_id'], ['patient.id'], name=op.f('fk_smart_launch_patient_id_patient'), ondelete='CASCADE'),
    sa.ForeignKeyConstraint(['user_id'], ['user_account.id'], name=op.f('fk_smart_launch_user_id_user_account'), ondelete='CASCADE'),
    sa.PrimaryKeyConstraint('id', name=op.f('pk_smart_launch')),
    sa.UniqueConstraint('token_hash', name=op.f('uq_smart_launch_token_hash'))
    )
    with op.batch_alter_table('api_client', schema=None) as batch_op:
        batch_op.add_column(sa.Column('redirect_uris', sa.JSON(), nullable=False, server_default="[]"))
        batch_op.add_column(sa.Column('scope', sa.String(length=1000), nullable=False, server_default=""))
        batch_op.add_column(sa.Column('launch_url', sa.String(length=500), nullable=True))



def downgrade() -> None:
    with op.batch_alter_table('api_client', schema=None) as batch_op:
        batch_op.drop_column('launch_url')
        batch_op.drop_column('scope')
        batch_op.drop_column('redirect_uris')

    op.drop_table('smart_launch')
    with op.batch_alter_table('oauth_token', schema=None) as batch_op:
        batch_op.drop_index(batch_op.f('ix_oauth_token_user_id'))
        batch_op.drop_index(batch_op.f('ix_oauth_token_client_id'))

    op.drop_table('oauth_token')
    with op.batch_alter_table('oauth_code', schema=None) as batch_op:
        batch_op.drop_index(batch_op.f('ix_oauth_code_user_id'))
        batch_op.drop_index(batch_op.f('ix_oauth_code_client_id'))

    op.drop_table('oauth_code')
    with op.batch_alter_table('bulk_export_file', schema=None) as batch_op:
        batch_op.drop_index(batch_op.f('ix_bulk_export_file_export_id'))

    op.drop_table('bulk_export_file')
    with op.batch_alter_table('bulk_export', schema=None) as batch_op:
        batch_op.drop_index(batch_op.f('ix_bulk_export_client_id'))

    op.drop_table('bulk_export')
    with op.batch_alter_table('used_jwt_id', schema=None) as batch_op:
        batch_op.drop_index(batch_op.f('ix_used_jwt_id_expires_at'))

    op.drop_table('used_jwt_id')
    op.drop_table('signing_key')
    with op.batch_alter_table('document_reference', schema=None) as batch_op:
        batch_op.drop_index(batch_op.f('ix_document_reference_patient_id'))
    op.drop_table('document_reference')
