using Microsoft.EntityFrameworkCore.Migrations;

#nullable disable

namespace Imprint.Storage.Postgres.Migrations
{
    /// <inheritdoc />
    public partial class MatcherVirtualSize : Migration
    {
        /// <inheritdoc />
        protected override void Up(MigrationBuilder migrationBuilder)
        {
            migrationBuilder.AddColumn<long>(
                name: "VirtualSize",
                table: "Matchers",
                type: "bigint",
                nullable: true);
        }

        /// <inheritdoc />
        protected override void Down(MigrationBuilder migrationBuilder)
        {
            migrationBuilder.DropColumn(
                name: "VirtualSize",
                table: "Matchers");
        }
    }
}
