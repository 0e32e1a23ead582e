from tortoise import migrations
from tortoise.migrations import operations as ops
from tortoise.fields.base import OnDelete
from tortoise import fields

class Migration(migrations.Migration):
    dependencies = [('node', '0016_member_language')]

    initial = False

    operations = [
        ops.CreateModel(
            name='OAuthApp',
            fields=[
                ('id', fields.IntField(generated=True, primary_key=True, unique=True, db_index=True)),
                ('client_id', fields.CharField(unique=True, max_length=64)),
                ('client_secret_hash', fields.CharField(max_length=64)),
                ('name', fields.CharField(max_length=200)),
                ('website', fields.CharField(null=True, max_length=2000)),
                ('redirect_uris', fields.TextField(unique=False)),
                ('scopes', fields.CharField(max_length=2000)),
                ('created_at', fields.DatetimeField(auto_now=False, auto_now_add=True)),
            ],
            options={'table': 'oauth_app', 'app': 'node', 'pk_attr': 'id', 'table_description': 'A client app (``POST /api/v1/apps``). Only a hash of its secret is stored.'},
            bases=['Model'],
        ),
        ops.CreateModel(
            name='OAuthAppToken',
            fields=[
                ('id', fields.IntField(generated=True, primary_key=True, unique=True, db_index=True)),
                ('token_hash', fields.CharField(unique=True, max_length=64)),
                ('app', fields.ForeignKeyField('node.OAuthApp', source_field='app_id', db_constraint=True, to_field='id', related_name='tokens', on_delete=OnDelete.CASCADE)),
                ('scopes', fields.CharField(max_length=2000)),
                ('created_at', fields.DatetimeField(auto_now=False, auto_now_add=True)),
                ('revoked_at', fields.DatetimeField(null=True, auto_now=False, auto_now_add=False)),
            ],
            options={'table': 'oauth_app_token', 'app': 'node', 'pk_attr': 'id', 'table_description': 'A token of the app itself (``client_credentials``): it acts for no member.'},
            bases=['Model'],
        ),
        ops.CreateModel(
            name='OAuthCode',
            fields=[
                ('id', fields.IntField(generated=True, primary_key=True, unique=True, db_index=True)),
                ('code_hash', fields.CharField(unique=True, max_length=64)),
                ('app', fields.ForeignKeyField('node.OAuthApp', source_field='app_id', db_constraint=True, to_field='id', related_name='codes', on_delete=OnDelete.CASCADE)),
                ('member', fields.ForeignKeyField('node.Member', source_field='member_id', db_constraint=True, to_field='id', related_name='oauth_codes', on_delete=OnDelete.CASCADE)),
                ('redirect_uri', fields.CharField(max_length=2000)),
                ('scopes', fields.CharField(max_length=2000)),
                ('code_challenge', fields.CharField(null=True, max_length=128)),
                ('code_challenge_method', fields.CharField(null=True, max_length=10)),
                ('expires_at', fields.DatetimeField(auto_now=False, auto_now_add=False)),
                ('used_at', fields.DatetimeField(null=True, auto_now=False, auto_now_add=False)),
            ],
            options={'table': 'oauth_code', 'app': 'node', 'pk_attr': 'id', 'table_description': 'An authorization code: single use, short-lived, bound to its redirect URI and PKCE.'},
            bases=['Model'],
        ),
        ops.AddField(
            model_name='LoginSession',
            name='app',
            field=fields.ForeignKeyField('node.OAuthApp', source_field='app_id', null=True, db_constraint=True, to_field='id', related_name='sessions', on_delete=OnDelete.CASCADE),
        ),
        ops.AddField(
            model_name='LoginSession',
            name='scopes',
            field=fields.CharField(null=True, max_length=2000),
        ),
    ]
